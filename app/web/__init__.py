"""The web service: the FastAPI app, its pages, API routers, assets, jobs and quiz."""
