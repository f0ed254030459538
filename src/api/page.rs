//! The map page: `GET /` answers browsers with the page and every other client with the OGC
//! landing page (content negotiation on `Accept`; `f=html` or `f=json` forces one), and
//! `GET /map/{file}` serves the page's scripts. The page is built from `web/` by `build.rs`
//! and embedded in the binary, so nothing is fetched from anywhere but this server.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, VARY};
use actix_web::{HttpRequest, HttpResponse, web};

use super::error::ApiError;
use super::features;
use super::params::RawQuery;

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// The page itself.
const INDEX: &str = "index.html";

/// What `GET /` answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Html,
    Json,
}

/// `f=html|json` wins; otherwise HTML when `Accept` prefers `text/html` (or XHTML) to JSON
/// — what browsers send — and JSON for everything else, `*/*` and no `Accept` included, so
/// OGC clients keep getting the landing page.
fn negotiate(req: &HttpRequest) -> Format {
    if let Ok(mut q) = RawQuery::parse(req.query_string()) {
        match q.take("f").as_deref() {
            Some("html") => return Format::Html,
            Some(_) => return Format::Json,
            None => {}
        }
    }
    let accept = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (mut html_q, mut json_q) = (0.0_f64, 0.0_f64);
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts
            .find_map(|p| p.strip_prefix("q=").and_then(|v| v.parse::<f64>().ok()))
            .filter(|q| q.is_finite())
            .unwrap_or(1.0);
        match media.as_str() {
            "text/html" | "application/xhtml+xml" => html_q = html_q.max(q),
            "application/json" | "application/*" | "*/*" => json_q = json_q.max(q),
            _ => {}
        }
    }
    if html_q > 0.0 && html_q > json_q {
        Format::Html
    } else {
        Format::Json
    }
}

fn asset(name: &str) -> Option<&'static [u8]> {
    ASSETS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

/// `GET /`: the map page or the landing page.
pub async fn root(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let mut resp = match negotiate(&req) {
        Format::Html => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            // The page names its scripts by content hash; asking again each time keeps it fresh.
            .insert_header((CACHE_CONTROL, "no-cache"))
            .body(asset(INDEX).unwrap_or_default()),
        Format::Json => features::landing(&req)?,
    };
    resp.headers_mut()
        .insert(VARY, HeaderValue::from_static("Accept"));
    Ok(resp)
}

/// `GET /map/{file}`: a script or stylesheet of the page. Names carry a content hash, so they
/// are cached for a year.
pub async fn file(name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let body = (name != INDEX)
        .then(|| asset(&name))
        .flatten()
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no file '{name}' in the map page; open / in a browser, it loads what it needs"
            ))
        })?;
    let media = match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("map" | "json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    };
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, media))
        .insert_header((CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(body))
}

/// The name of one embedded script, for tests.
#[must_use]
pub fn a_script() -> Option<&'static str> {
    ASSETS.iter().map(|(n, _)| *n).find(|n| {
        std::path::Path::new(n)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("js"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn format_of(accept: Option<&str>, query: &str) -> Format {
        let mut r = TestRequest::get().uri(&format!("/{query}"));
        if let Some(a) = accept {
            r = r.insert_header(("accept", a));
        }
        negotiate(&r.to_http_request())
    }

    #[test]
    fn browsers_get_the_page_and_everyone_else_json() {
        let chrome =
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
        assert_eq!(format_of(Some(chrome), ""), Format::Html);
        assert_eq!(format_of(Some("*/*"), ""), Format::Json);
        assert_eq!(format_of(None, ""), Format::Json);
        assert_eq!(format_of(Some("application/json"), ""), Format::Json);
        assert_eq!(
            format_of(Some("application/json, text/html;q=0.5"), ""),
            Format::Json
        );
        assert_eq!(format_of(Some("text/html;q=0"), ""), Format::Json);
        assert_eq!(format_of(Some(chrome), "?f=json"), Format::Json);
        assert_eq!(format_of(Some("*/*"), "?f=html"), Format::Html);
        assert_eq!(format_of(Some("text/html;q=abc"), ""), Format::Html);
    }

    #[test]
    fn the_page_is_embedded_with_its_scripts() {
        let html = std::str::from_utf8(asset(INDEX).expect("index.html embedded")).expect("UTF-8");
        // The entry script the page names is embedded too.
        let start = html
            .find("/map/main-")
            .expect("the page loads its entry script")
            + 5;
        let len = html[start..].find('"').expect("quoted");
        let entry = &html[start..start + len];
        assert!(
            asset(entry).is_some_and(|b| !b.is_empty()),
            "{entry} not embedded"
        );
        // Nothing is loaded from another server.
        assert!(
            !html.contains("://"),
            "the page names another server: {html}"
        );
    }
}
