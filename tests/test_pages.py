"""Pages through the real app: what they show that comes from the engine itself."""

import inspect
from html import escape

from fastapi.testclient import TestClient

from app.web.main import create_app
from app.web.pages import SOURCE


def test_the_maml_page_shows_the_engine_code_it_runs():
    html = TestClient(create_app()).get("/maml").text
    for name, function in SOURCE.items():
        signature = inspect.getsource(function).split(":\n", 1)[0]  # up to the first ":\n"
        assert escape(signature, quote=False) in html, name
