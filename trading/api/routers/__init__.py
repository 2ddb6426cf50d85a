"""The API's routers, one per subject; each view parses, calls a service or selector, and shapes."""
