"""User-authored email templates render in a sandbox: no escapes to Python internals, HTML escaped in
HTML bodies, undefined names and bad syntax reported at the template's JSON path, resources bounded."""

import pytest

from engine.notify.templates import MAX_LOOP_ITERATIONS, MAX_SOURCE, TemplateFailed, check, render

RECORD = {"name": "ACME <script>alert(1)</script>", "budget": 600000, "tags": ["vip", "event"]}


def failure(source, context=None, html=False):
    with pytest.raises(TemplateFailed) as caught:
        render(source, context or {}, html=html, path="/actions/1/config/body")
    assert caught.value.status == 422
    [error] = caught.value.errors
    assert error.path == "/actions/1/config/body"
    return error.code, error.message


def test_values_are_escaped_in_html_and_left_alone_in_plain_text():
    assert render("Lead {{ record.name }}", {"record": RECORD}, html=True) == "Lead ACME &lt;script&gt;alert(1)&lt;/script&gt;"
    assert render("Lead {{ record.name }}", {"record": RECORD}) == "Lead ACME <script>alert(1)</script>"
    assert render("{{ tags|join(' & ') }}", {"tags": ["R&D", "<b>"]}, html=True) == "R&amp;D &amp; &lt;b&gt;"


def test_everyday_template_features_work():
    source = (
        "{% if record.budget > 500000 %}Key account{% else %}Lead{% endif %}: {{ record.name|upper|truncate(8, True, '') }} "
        "{% for t in record.tags %}#{{ loop.index }}{{ t }} {% endfor %}"
    )
    assert render(source, {"record": RECORD}) == "Key account: ACME <SC #1vip #2event "


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ record.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ record.tags.append('x') }}",
        "{{ record.update({'a': 1}) }}",
    ],
)
def test_attribute_escapes_and_mutation_are_refused(source):
    code, _ = failure(source, {"record": RECORD})
    assert code in ("template_unsafe", "template_undefined")


def test_an_undefined_name_is_an_error_not_an_empty_string():
    assert failure("Dear {{ contact.first_name }}") == ("template_undefined", "'contact' is undefined")
    assert failure("{{ record.nope }}", {"record": RECORD})[0] == "template_undefined"


def test_syntax_errors_carry_the_line_and_check_finds_them_without_rendering():
    code, message = failure("Hello\n{% if %}")
    assert code == "template_syntax" and message.startswith("line 2:")
    [error] = check("{% for x in %}", path="/subject")
    assert (error.path, error.code) == ("/subject", "template_syntax")
    assert check("Hello {{ name }}") == []


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("x" * (MAX_SOURCE + 1), "at most"),
        ("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", str(MAX_LOOP_ITERATIONS)),
        ("{{ 'a' * 1000000000 }}", "'*'"),
        ("{{ 9 ** 9999999 }}", "exponent"),
        ("{{ '%999999999s' % 1 }}", "'%'"),
        ("{{ 'a'.center(1000000000) }}", "center"),
        ("{{ ('x' * 10000) * 1 }}" * 200, "rendered text"),
        ("{% for x in [1] recursive %}{{ loop([x]) }}{% endfor %}", "recursive"),
    ],
)
def test_resource_hungry_templates_are_stopped(source, words):
    _, message = failure(source)
    assert words in message


def test_a_template_calling_itself_forever_is_an_error():
    assert failure("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}") == (
        "template_error",
        "the template calls itself too deeply",
    )


def test_the_loop_budget_is_per_render():
    source = "{% for i in range(60000) %}{% endfor %}"
    assert render(source, {}) == "" and render(source, {}) == ""
