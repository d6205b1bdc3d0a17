//! Where a master's scheduler endpoint is: from a configured master URL, and from the
//! `Location` of a redirect (scheme-relative as Mesos writes it, absolute, a bare path, or a
//! bare `host:port`).

use hyper::Uri;

/// The scheduler API below a master's base URL.
pub const SCHEDULER_PATH: &str = "/api/v1/scheduler";

/// Why a master URL or a redirect target cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("'{0}' is not a usable URL")]
    Invalid(String),
    #[error("'{0}': only http:// masters are supported")]
    Scheme(String),
}

/// The scheduler endpoint of a configured master: `http://h:5050` (or just `h:5050`) becomes
/// `http://h:5050/api/v1/scheduler`; a path prefix (a master behind a proxy) is kept, and a URL
/// that already names the endpoint is taken as it is.
pub fn endpoint(master: &str) -> Result<Uri, UrlError> {
    let master = master.trim();
    let with_scheme = if master.contains("://") {
        master.to_owned()
    } else {
        format!("http://{master}")
    };
    let uri = parse_http(&with_scheme)?;
    let path = uri.path().trim_end_matches('/');
    let path = if path.ends_with(SCHEDULER_PATH) {
        path.to_owned()
    } else {
        format!("{path}{SCHEDULER_PATH}")
    };
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    parse_http(&format!("http://{authority}{path}"))
}

/// Resolves a redirect's `Location` against the URL that answered it. Mesos sends
/// `//host:port/…/api/v1/scheduler`; a target without a path keeps the current one.
pub fn resolve_location(current: &Uri, location: &str) -> Result<Uri, UrlError> {
    let location = location.trim();
    let scheme = current.scheme_str().unwrap_or("http");
    let authority = current.authority().map(|a| a.as_str()).unwrap_or_default();
    let absolute = if location.is_empty() {
        return Err(UrlError::Invalid(location.to_owned()));
    } else if location.starts_with("//") {
        format!("{scheme}:{location}")
    } else if location.contains("://") {
        location.to_owned()
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else if !location.contains('/') {
        // `host:port`, as the API documentation's example shows it.
        format!("{scheme}://{location}")
    } else {
        return Err(UrlError::Invalid(location.to_owned()));
    };
    let target = parse_http(&absolute)?;
    if matches!(target.path(), "" | "/") {
        let authority = target.authority().map(|a| a.as_str()).unwrap_or_default();
        return parse_http(&format!("http://{authority}{}", current.path()));
    }
    Ok(target)
}

/// The base URL of a scheduler endpoint, as a master is named in the configuration:
/// `http://h:5050/master/api/v1/scheduler` → `http://h:5050/master`.
pub fn base_url(endpoint: &Uri) -> String {
    let scheme = endpoint.scheme_str().unwrap_or("http");
    let authority = endpoint.authority().map(|a| a.as_str()).unwrap_or_default();
    let path = endpoint.path();
    let prefix = path.strip_suffix(SCHEDULER_PATH).unwrap_or(path);
    format!("{scheme}://{authority}{}", prefix.trim_end_matches('/'))
}

/// An absolute `http://` URL with a host.
fn parse_http(s: &str) -> Result<Uri, UrlError> {
    let uri: Uri = s.parse().map_err(|_| UrlError::Invalid(s.to_owned()))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http"), Some(host)) if !host.is_empty() => Ok(uri),
        (Some("http"), _) | (None, _) => Err(UrlError::Invalid(s.to_owned())),
        (Some(_), _) => Err(UrlError::Scheme(s.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn configured_masters_become_endpoints() {
        let cases = [
            (
                "http://127.0.0.1:5050",
                "http://127.0.0.1:5050/api/v1/scheduler",
            ),
            (
                "http://127.0.0.1:5050/",
                "http://127.0.0.1:5050/api/v1/scheduler",
            ),
            ("h2:5050", "http://h2:5050/api/v1/scheduler"),
            (" http://h:5050 ", "http://h:5050/api/v1/scheduler"),
            (
                "http://h:5050/mesos",
                "http://h:5050/mesos/api/v1/scheduler",
            ),
            (
                "http://h:5050/api/v1/scheduler",
                "http://h:5050/api/v1/scheduler",
            ),
        ];
        for (master, want) in cases {
            assert_eq!(endpoint(master), Ok(uri(want)), "{master}");
        }
        assert_eq!(
            endpoint("https://h:5050"),
            Err(UrlError::Scheme("https://h:5050".into()))
        );
        assert!(matches!(endpoint(""), Err(UrlError::Invalid(_))));
        assert!(matches!(endpoint("http://"), Err(UrlError::Invalid(_))));
        assert!(matches!(endpoint("http://a b"), Err(UrlError::Invalid(_))));
    }

    #[test]
    fn redirect_locations_resolve() {
        let current = uri("http://m1:5050/api/v1/scheduler");
        let cases = [
            // What Mesos sends.
            (
                "//m2:5050/master/api/v1/scheduler",
                "http://m2:5050/master/api/v1/scheduler",
            ),
            (
                "//m2:5050/api/v1/scheduler",
                "http://m2:5050/api/v1/scheduler",
            ),
            (
                "http://m3:5051/api/v1/scheduler",
                "http://m3:5051/api/v1/scheduler",
            ),
            (
                "/elsewhere/api/v1/scheduler",
                "http://m1:5050/elsewhere/api/v1/scheduler",
            ),
            // Without a path, the request's path is kept.
            ("//m2:5050", "http://m2:5050/api/v1/scheduler"),
            ("http://m2:5050/", "http://m2:5050/api/v1/scheduler"),
            ("m2:5050", "http://m2:5050/api/v1/scheduler"),
            (
                " //m2:5050/api/v1/scheduler ",
                "http://m2:5050/api/v1/scheduler",
            ),
        ];
        for (location, want) in cases {
            assert_eq!(
                resolve_location(&current, location),
                Ok(uri(want)),
                "{location}"
            );
        }
        for bad in ["", "relative/path", "//", "http://"] {
            assert!(
                matches!(resolve_location(&current, bad), Err(UrlError::Invalid(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            resolve_location(&current, "https://m2:5050/api/v1/scheduler"),
            Err(UrlError::Scheme(_))
        ));
    }

    #[test]
    fn base_urls_drop_the_scheduler_path() {
        let cases = [
            ("http://h:5050/api/v1/scheduler", "http://h:5050"),
            (
                "http://h:5050/master/api/v1/scheduler",
                "http://h:5050/master",
            ),
            ("http://h:5050/other", "http://h:5050/other"),
        ];
        for (endpoint, want) in cases {
            assert_eq!(base_url(&uri(endpoint)), want, "{endpoint}");
        }
    }
}
