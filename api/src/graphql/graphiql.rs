//! GraphiQL (development only), served by the binary itself: the page and
//! its scripts and styles are embedded (`api/assets/graphiql/`, vendored from
//! the npm registry), so the README walk-through works offline and nothing is
//! loaded from a CDN. The page's own CSP allows nothing but this origin
//! (plus `data:` fonts and images, which GraphiQL's stylesheet embeds).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use domain::AppContext;
use domain::infra::settings::Environment;

/// The policy of the GraphiQL page: scripts, styles and requests to this
/// origin only; GraphiQL's fonts and icons come inline as `data:` URLs.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self' data:; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// Where the assets are served; versioned with the vendored release so a
/// long cache never serves a stale bundle after an upgrade.
pub const ASSET_PREFIX: &str = "/graphiql/3.8.3";

/// The embedded assets: file name, content type, bytes.
const ASSETS: [(&str, &str, &[u8]); 6] = [
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.css"),
    ),
    (
        "page.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/graphiql/page.css"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
    (
        "init.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/init.js"),
    ),
];

fn page() -> String {
    let p = ASSET_PREFIX;
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Studio billing API</title>
<link rel="stylesheet" href="{p}/graphiql.min.css">
<link rel="stylesheet" href="{p}/page.css">
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="{p}/react.production.min.js"></script>
<script src="{p}/react-dom.production.min.js"></script>
<script src="{p}/graphiql.min.js"></script>
<script src="{p}/init.js"></script>
</body>
</html>
"#
    )
}

/// `GET /graphql` in a browser: the GraphiQL page (404 in production).
pub async fn graphiql(app: web::Data<AppContext>) -> HttpResponse {
    if app.settings.environment == Environment::Production {
        return HttpResponse::NotFound().finish();
    }
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(page())
}

/// `GET /graphiql/<version>/<file>`: an embedded asset, cached for a year
/// (the version is in the path); 404 for anything else and in production.
pub async fn asset(app: web::Data<AppContext>, file: web::Path<String>) -> HttpResponse {
    if app.settings.environment == Environment::Production {
        return HttpResponse::NotFound().finish();
    }
    match ASSETS.iter().find(|(name, _, _)| *name == file.as_str()) {
        Some((_, content_type, bytes)) => HttpResponse::Ok()
            .content_type(*content_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(*bytes),
        None => HttpResponse::NotFound().finish(),
    }
}
