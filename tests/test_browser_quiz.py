"""The quiz in Chromium: answer by click, drag and keyboard; 20-way; the score persists."""

import pytest

from app.article.comparison import chart_points

pytestmark = pytest.mark.browser


def open_quiz(page, base):
    page.goto(base + "/", wait_until="networkidle")
    wait_ready(page)


def wait_ready(page):
    page.wait_for_function(
        "() => document.querySelectorAll('[data-quiz-choice]').length > 0"
        " && document.querySelector('[data-quiz-feedback]').textContent === ''"
    )
    page.wait_for_timeout(250)  # the server rejects answers faster than a person could give


def answered(page):
    page.wait_for_function("() => !document.querySelector('[data-quiz-next]').disabled")
    return page.locator("[data-quiz-feedback]").inner_text()


def score(page):
    return page.locator("[data-quiz-score]").inner_text()


def test_answer_by_click_shows_the_right_answer(live_server, page):
    open_quiz(page, live_server)
    page.locator("[data-quiz-choice]").nth(1).click()
    text = answered(page)
    assert text.startswith("Right") or "the match is candidate" in text
    assert page.locator("[data-quiz-choice].right").count() == 1
    assert "5-way: " in score(page) and " / 1" in score(page)
    assert page.errors == []


def test_answer_by_dragging_the_query_onto_a_candidate(live_server, page):
    open_quiz(page, live_server)
    source = page.locator("[data-quiz-query]").bounding_box()
    target = page.locator("[data-quiz-choice]").nth(3).bounding_box()
    page.mouse.move(source["x"] + 50, source["y"] + 50)
    page.mouse.down()
    page.mouse.move(target["x"] + 30, target["y"] + 30, steps=8)
    page.mouse.up()
    answered(page)
    chosen = page.locator("[data-quiz-choice]").nth(3)
    assert "right" in chosen.get_attribute("class") or "wrong" in chosen.get_attribute("class")
    assert page.errors == []


def test_answer_by_keyboard_and_move_on(live_server, page):
    open_quiz(page, live_server)
    first = page.locator("[data-quiz-query]").get_attribute("src")
    page.locator("[data-quiz-choice]").first.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.quizChoice") == "1"
    page.keyboard.press("3")
    answered(page)
    page.keyboard.press("n")
    wait_ready(page)
    assert page.locator("[data-quiz-query]").get_attribute("src") != first
    page.locator("[data-quiz-choice]").first.focus()
    page.keyboard.press("Enter")
    answered(page)
    assert " / 2" in score(page)
    assert page.errors == []


def twenty_way(page, base):
    """The quiz in 20-way, ready for an answer, with the focus on no element."""
    open_quiz(page, base)
    page.locator("[data-quiz-ways]").select_option("20")
    page.wait_for_function("() => document.querySelectorAll('[data-quiz-choice]').length === 20")
    wait_ready(page)
    page.evaluate("document.activeElement.blur()")


def test_twenty_way_and_the_score_survives_a_reload(live_server, page):
    twenty_way(page, live_server)
    page.locator("[data-quiz-choice]").nth(17).click()
    answered(page)
    before = score(page)
    assert "20-way: " in before and "20-way: 0 / 0" not in before
    page.reload(wait_until="networkidle")
    assert score(page) == before
    assert page.errors == []


def test_quiz_works_by_touch_on_a_phone(live_server, browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    tab = context.new_page()
    open_quiz(tab, live_server)
    tab.locator("[data-quiz-choice]").nth(0).tap()
    answered(tab)
    overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    context.close()


def test_score_appears_on_the_chart_of_the_next_page(live_server, page):
    open_quiz(page, live_server)
    page.locator("[data-quiz-choice]").nth(0).click()
    answered(page)
    page.locator("a[rel=next]").click()
    page.wait_for_url("**/why-model-agnostic")
    page.wait_for_function(
        "() => { const p = document.querySelector('[data-plot=accuracy]');"
        " return p && p.data && p.data.some(t => t.name === 'your quiz score'); }"
    )
    traces = page.evaluate("document.querySelector('[data-plot=accuracy]').data.map(t => t.name)")
    assert traces[0].startswith("published") and "all readers of this server" in traces
    published = page.evaluate(
        "document.querySelector('[data-plot=accuracy]').data"
        ".filter(t => t.name.startsWith('published')).reduce((n, t) => n + t.y.length, 0)"
    )
    assert published == len(chart_points()["points"])
    assert page.errors == []


def test_taxonomy_shows_a_line_on_hover_and_links_to_the_explanation(live_server, page):
    page.goto(live_server + "/why-model-agnostic", wait_until="networkidle")
    member = page.locator("[data-taxonomy-member]", has_text="Prototypical networks")
    line = page.locator("#" + member.get_attribute("aria-describedby"))
    assert not line.is_visible()
    member.hover()
    assert line.is_visible() and "prototype" in line.inner_text()
    member.click()
    page.wait_for_url("**#prototypical")
    assert page.errors == []


def test_after_an_answer_the_models_answers_are_shown(live_server, page):
    open_quiz(page, live_server)
    page.locator("[data-quiz-choice]").nth(2).click()
    answered(page)
    served = page.evaluate("fetch('/api/omniglot/models').then(r => r.json())")
    if not served:
        pytest.skip("no trained Omniglot model in models/")
    page.wait_for_function("() => document.querySelectorAll('[data-quiz-models] li').length > 0")
    assert "candidate" in page.locator("[data-quiz-models] li").first.inner_text()
    assert page.errors == []


def chosen(page):
    """The candidate the reader picked, once answered: the one marked wrong, else the right one."""
    answered(page)
    return page.evaluate(
        "() => { const b = Array.from(document.querySelectorAll('[data-quiz-choice]'));"
        " const wrong = b.findIndex(x => x.classList.contains('wrong'));"
        " return wrong >= 0 ? wrong : b.findIndex(x => x.classList.contains('right')); }"
    )


def test_number_keys_work_without_the_quiz_having_the_focus(live_server, page):
    open_quiz(page, live_server)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    assert page.evaluate("document.activeElement === document.body")
    page.keyboard.press("4")
    assert chosen(page) == 3
    assert page.errors == []


def test_number_keys_are_left_alone_in_a_form_field(live_server, page):
    open_quiz(page, live_server)
    page.locator("[data-quiz-ways]").focus()
    page.keyboard.press("3")  # no option starts with 3: the select keeps its value
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("4")
    assert chosen(page) == 3  # the 3 typed in the select did not answer
    assert page.locator("[data-quiz-ways]").input_value() == "5"
    assert page.errors == []


def test_twenty_way_takes_two_digits_and_shows_them(live_server, page):
    twenty_way(page, live_server)
    # a typist as slow as a busy test machine: the second digit may come a minute later
    page.evaluate("document.querySelector('[data-quiz]').dataset.quizKeyMs = '60000'")
    page.keyboard.press("1")
    page.wait_for_function("() => !document.querySelector('[data-quiz-typed]').hidden")
    assert page.locator("[data-quiz-typed]").inner_text().startswith("1")
    page.keyboard.press("4")
    assert chosen(page) == 13
    assert page.locator("[data-quiz-typed]").is_hidden()
    assert page.errors == []


def test_twenty_way_takes_a_lone_digit_after_a_pause(live_server, page):
    twenty_way(page, live_server)
    page.keyboard.press("2")  # could begin 20: taken as 2 once no second digit follows
    assert chosen(page) == 1
    page.keyboard.press("n")
    wait_ready(page)
    page.keyboard.press("7")  # no candidate's number begins with 7 but 7: taken at once
    assert chosen(page) == 6
    assert page.errors == []
