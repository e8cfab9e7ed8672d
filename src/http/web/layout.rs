//! The HTML skeleton and stylesheet shared by every page.

use crate::html::escape;
use axum::response::Html;

const STYLESHEET: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;line-height:1.5;color:#1d1d1f;background:#fafaf7;margin:0}\
main{max-width:46rem;margin:0 auto;padding:1.5rem 1rem}\
header.site{background:#234;color:#fff;padding:.6rem 1rem}\
header.site a{color:#fff;text-decoration:none;font-weight:600}\
a{color:#0b57a4}\
.handle,.meta{color:#555}\
code{background:#eee;padding:0 .25em;border-radius:3px}\
section.join{border:1px solid #ccd;border-radius:6px;padding:.5rem 1rem;background:#fff}\
ul{padding-left:1.2rem}\
";

/// A complete page around `body` (which must already be safe HTML).
pub fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLESHEET}</style>\n</head>\n<body>\n\
         <header class=\"site\"><a href=\"/\">Kindred</a></header>\n<main>\n{body}</main>\n</body>\n</html>\n",
        title = escape(title),
    ))
}
