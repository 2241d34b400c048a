"""The API's endpoints, one router per concern; `assistant.interfaces.api.app` mounts them."""
