"""The app as gunicorn serves it, plus one bench-only route that renders base.html and
nothing else: the floor that search latency is compared with."""

from flask import render_template_string

from app import create_app

app = create_app()


@app.get("/bench/base")
def bench_base():
    return render_template_string(
        '{% extends "base.html" %}{% block title %}Base{% endblock %}'
        '{% block main_content %}<h1 class="govuk-heading-xl">Base</h1>{% endblock %}'
    )
