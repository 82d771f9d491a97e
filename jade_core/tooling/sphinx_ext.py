"""A Sphinx extension for the book: each page loads every script once.

Jupyter Book 1 registers sphinx-thebe's and sphinx-togglebutton's inline
configuration scripts twice, so every page logs "Identifier 'THEBE_JS_URL' has
already been declared"; duplicates (same source and attributes, whatever their
priority) are dropped from the page's script list, in place.
"""


def dedupe_scripts(app, pagename, templatename, context, doctree):
    seen, kept = set(), []
    for js in context.get("script_files", []):
        # Sphinx 7.4: _JavaScript(filename, priority, attributes); older: a str subclass
        name = str(getattr(js, "filename", js) or "")  # inline scripts: None or ""
        key = (name, tuple(sorted((k, str(v)) for k, v in getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    context["script_files"][:] = kept


def setup(app):
    # last, after the handlers that add page scripts (MathJax); none of them returns a template
    app.connect("html-page-context", dedupe_scripts, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
