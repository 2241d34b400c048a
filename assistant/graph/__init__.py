"""A support turn as a LangGraph graph: state, deps, run choices, nodes, routers, builder."""
