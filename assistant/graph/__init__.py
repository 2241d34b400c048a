"""The LangGraph state machine of a support turn: state, dependencies, nodes, routers, builder."""
