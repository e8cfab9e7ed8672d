//! Turning text from elsewhere into HTML that is safe to store and show: remote HTML is
//! sanitised, markdown is rendered then sanitised, plain text is escaped.

use std::sync::LazyLock;

/// The tags a post, reply or summary may keep. Everything else (scripts, styles, forms,
/// iframes, SVG, event handlers, `javascript:` links) is removed.
static POST_SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .tags(
            [
                "a",
                "abbr",
                "b",
                "blockquote",
                "br",
                "code",
                "del",
                "em",
                "h1",
                "h2",
                "h3",
                "h4",
                "h5",
                "h6",
                "hr",
                "i",
                "li",
                "ol",
                "p",
                "pre",
                "s",
                "span",
                "strong",
                "sub",
                "sup",
                "table",
                "tbody",
                "td",
                "th",
                "thead",
                "tr",
                "u",
                "ul",
                // No `img`: pictures come as attachments, through the media proxy; an inline
                // one would make every reader's browser ask the other server.
            ]
            .into_iter()
            .collect(),
        )
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("nofollow noopener noreferrer"))
        .add_tag_attributes("a", ["href", "title"])
        .add_allowed_classes(
            "span",
            ["h-card", "mention", "hashtag", "invisible", "ellipsis"],
        )
        .add_allowed_classes("a", ["mention", "hashtag", "u-url"]);
    builder
});

/// Sanitises HTML written by another server (or rendered from a local user's markdown).
pub fn sanitize(html: &str) -> String {
    POST_SANITIZER.clean(html).to_string()
}

/// Renders markdown to sanitised HTML. Raw HTML inside the markdown goes through the same
/// sanitiser, so markdown cannot smuggle in what remote HTML may not.
pub fn markdown_to_html(markdown: &str) -> String {
    let mut options = pulldown_cmark::Options::empty();
    options.insert(pulldown_cmark::Options::ENABLE_STRIKETHROUGH);
    options.insert(pulldown_cmark::Options::ENABLE_TABLES);
    let parser = pulldown_cmark::Parser::new_ext(markdown, options);
    let mut rendered = String::new();
    pulldown_cmark::html::push_html(&mut rendered, parser);
    sanitize(&rendered)
}

/// HTML that may go into a page as it is. Templates escape every other value; this type is the
/// one way to insert markup, and only this module makes it: from the sanitiser, or from a
/// column that only ever holds what the sanitiser produced.
#[derive(Debug, Clone, Copy)]
pub struct SanitizedHtml<'a>(&'a str);

impl<'a> SanitizedHtml<'a> {
    /// HTML read back from a column written only with [`sanitize`] or [`markdown_to_html`]:
    /// `post.content_html` and `actor.summary_html`. Sanitising happens
    /// once, on the way in, for local and remote text alike.
    pub fn from_stored(stored_html: &'a str) -> Self {
        SanitizedHtml(stored_html)
    }
}

impl maud::Render for SanitizedHtml<'_> {
    fn render_to(&self, buffer: &mut String) {
        buffer.push_str(self.0);
    }
}

/// Reduces HTML (or text that may contain tags) to plain text: tags dropped, entities decoded.
/// For names and titles, which are always shown as text.
pub fn to_plain_text(html: &str) -> String {
    let without_tags = ammonia::Builder::empty().clean(html).to_string();
    decode_basic_entities(&without_tags).trim().to_string()
}

/// Tidies a plain-text field from another server (a title, a display name; ActivityStreams
/// `name` is plain text, not HTML): control characters dropped, runs of whitespace made one
/// space, trimmed. It is kept as written — `<` included — and escaped wherever it is shown.
pub fn plain_text_field(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Drops the characters XML 1.0 forbids (most control characters) from text bound for the
/// Atom feed, so one remote title cannot make the feed unreadable. The template escapes the
/// rest.
pub fn xml_safe_text(text: &str) -> String {
    text.chars()
        .filter(|c| {
            matches!(c, '\t' | '\n' | '\r')
                || (!c.is_control() && !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        })
        .collect()
}

/// Escapes text for use inside HTML element content or a double-quoted attribute.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

fn decode_basic_entities(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_and_javascript_links_are_removed() {
        let dirty = r#"<p onclick="x()">hi<script>alert(1)</script><a href="javascript:alert(1)">a</a><img src=x onerror=alert(1)><svg><script>1</script></svg><style>*{}</style></p>"#;
        let clean = sanitize(dirty);
        assert!(!clean.contains("script"), "{clean}");
        assert!(!clean.contains("onclick"), "{clean}");
        assert!(!clean.contains("onerror"), "{clean}");
        assert!(!clean.contains("javascript:"), "{clean}");
        assert!(!clean.contains("<svg"), "{clean}");
        assert!(!clean.contains("<style"), "{clean}");
        assert!(!clean.contains("<img"), "{clean}");
        assert!(clean.contains("<p>hi"), "{clean}");
    }

    #[test]
    fn links_get_a_safe_rel() {
        let clean = sanitize(r#"<a href="https://example.com">x</a>"#);
        assert!(
            clean.contains(r#"rel="nofollow noopener noreferrer""#),
            "{clean}"
        );
    }

    #[test]
    fn markdown_renders_and_raw_html_is_sanitised() {
        let html = markdown_to_html("**fix** it\n\n<script>alert(1)</script>");
        assert!(html.contains("<strong>fix</strong>"), "{html}");
        assert!(!html.contains("<script"), "{html}");
    }

    #[test]
    fn plain_text_and_escape() {
        assert_eq!(to_plain_text("<b>Repair</b> &amp; reuse"), "Repair & reuse");
        assert_eq!(
            escape(r#"<a href="x">'"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;"
        );
    }
}
