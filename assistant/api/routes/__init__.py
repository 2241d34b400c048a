"""The API's endpoints, one router per concern; `assistant.api.app` mounts them."""
