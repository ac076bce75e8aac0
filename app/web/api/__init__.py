"""HTTP routers: thin layers that validate requests and call ``app.meta``."""
