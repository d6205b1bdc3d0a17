//! Marathon path ids (`/prod/web`): parsing, canonicalization and the tree relations between them.

use std::fmt;
use std::sync::Arc;

/// Marathon's segment regex, quoted verbatim in error messages so clients see the rule they broke.
const SEGMENT_REGEX: &str = "^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$";

/// Last segments that would collide with REST sub-resources (`/v2/apps/{id}/tasks` …), refused
/// since Marathon 1.8.
const RESERVED_LAST_SEGMENTS: [&str; 3] = ["restart", "tasks", "versions"];

/// A canonical absolute Marathon path id ("/prod/web"; root is "/").
///
/// The only way to build one from outside is [`PathId::parse`], so every value held is canonical:
/// absolute, no `.`/`..`, no empty or trailing segments, every segment a valid DNS-ish label.
/// Shared text, because the state's persistent maps copy keys whenever they copy a node.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct PathId(Arc<str>);

impl PathId {
    pub fn root() -> PathId {
        PathId(Arc::from("/"))
    }

    /// Parses and canonicalizes: relative ids resolve against `base` (root when None), "." and ".."
    /// are resolved (".." above root stays at root), empty segments and a trailing slash dropped.
    /// Each remaining segment must match Marathon's segment regex, and the last one must not be a
    /// reserved word; the error is a human message in Marathon's words.
    pub fn parse(s: &str, base: Option<&PathId>) -> Result<PathId, String> {
        let mut segments: Vec<&str> = Vec::new();
        if let Some(base) = base.filter(|_| !s.starts_with('/')) {
            segments.extend(base.segments());
        }
        for segment in s.split('/') {
            match segment {
                "" | "." => {}
                ".." => {
                    segments.pop();
                }
                other => {
                    if !is_valid_segment(other) {
                        return Err(format!(
                            "'{other}' must fully match regular expression '{SEGMENT_REGEX}'"
                        ));
                    }
                    segments.push(other);
                }
            }
        }
        if let Some(last) = segments.last()
            && RESERVED_LAST_SEGMENTS.contains(last)
        {
            return Err(format!(
                "must not end with '{last}': the last segment may not be one of {}",
                RESERVED_LAST_SEGMENTS.join(", ")
            ));
        }
        Ok(PathId(Arc::from(format!("/{}", segments.join("/")))))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        &*self.0 == "/"
    }

    /// The enclosing group; root's parent is root so callers never need an Option.
    pub fn parent(&self) -> PathId {
        match self.0.rfind('/') {
            Some(0) | None => PathId::root(),
            Some(i) => PathId(Arc::from(&self.0[..i])),
        }
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|s| !s.is_empty())
    }

    /// Strict ancestor: "/a" of "/a/b", root of everything but itself.
    pub fn is_ancestor_of(&self, other: &PathId) -> bool {
        if self == other {
            return false;
        }
        if self.is_root() {
            return true;
        }
        other
            .0
            .strip_prefix(&*self.0)
            .is_some_and(|rest| rest.starts_with('/'))
    }

    /// "/prod/web" -> "prod_web": the prefix of Marathon 1.5+ task and instance ids, so a task id
    /// names its app without slashes.
    pub fn safe_name(&self) -> String {
        self.segments().collect::<Vec<_>>().join("_")
    }
}

impl fmt::Display for PathId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Dot-separated labels of `[a-z0-9-]`, each starting and ending with a letter or digit: the
/// non-dot alternative of [`SEGMENT_REGEX`] (the `.`/`..` alternative is resolved before this).
fn is_valid_segment(segment: &str) -> bool {
    segment.split('.').all(|label| {
        let bytes = label.as_bytes();
        let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        match (bytes.first(), bytes.last()) {
            (Some(first), Some(last)) => {
                alnum(first) && alnum(last) && bytes.iter().all(|b| alnum(b) || *b == b'-')
            }
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathId {
        PathId::parse(s, None).expect("valid test path")
    }

    #[test]
    fn canonicalizes() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("/", None, "/"),
            ("", None, "/"),
            ("web", None, "/web"),
            ("/prod/web/", None, "/prod/web"),
            ("//prod//web", None, "/prod/web"),
            ("web", Some("/prod"), "/prod/web"),
            ("../db", Some("/prod/web"), "/prod/db"),
            ("./a/./b", Some("/x"), "/x/a/b"),
            ("../../../a", Some("/x"), "/a"),
            ("/abs", Some("/x"), "/abs"),
            ("a.b-c.d9", None, "/a.b-c.d9"),
            ("0", None, "/0"),
            ("a/..", None, "/"),
        ];
        for (input, base, want) in cases {
            let base = base.map(p);
            let got = PathId::parse(input, base.as_ref());
            assert_eq!(
                got.as_ref().map(PathId::as_str),
                Ok(*want),
                "{input} on {base:?}"
            );
        }
    }

    #[test]
    fn refuses_bad_segments() {
        for bad in [
            "/Web", "/we b", "/-web", "/web-", "/a..b", "/a.", "/.a", "/a_b", "/ä", "/a/tasks",
            "/restart", "versions", "/...",
        ] {
            let err = PathId::parse(bad, None).expect_err(bad);
            assert!(
                err.contains("must fully match regular expression") || err.contains("must not end"),
                "{bad}: {err}"
            );
        }
        // Reserved words are fine in the middle.
        assert_eq!(p("/tasks/a").as_str(), "/tasks/a");
    }

    #[test]
    fn tree_relations() {
        assert_eq!(p("/a/b").parent(), p("/a"));
        assert_eq!(p("/a").parent(), PathId::root());
        assert_eq!(PathId::root().parent(), PathId::root());
        assert!(PathId::root().is_root());
        assert!(!p("/a").is_root());
        assert!(p("/a").is_ancestor_of(&p("/a/b")));
        assert!(p("/a").is_ancestor_of(&p("/a/b/c")));
        assert!(PathId::root().is_ancestor_of(&p("/a")));
        assert!(!PathId::root().is_ancestor_of(&PathId::root()));
        assert!(!p("/a").is_ancestor_of(&p("/a")));
        assert!(!p("/a").is_ancestor_of(&p("/ab")));
        assert!(!p("/a/b").is_ancestor_of(&p("/a")));
        assert_eq!(p("/a/b").segments().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(PathId::root().segments().count(), 0);
    }

    #[test]
    fn safe_name_and_display() {
        assert_eq!(p("/prod/web").safe_name(), "prod_web");
        assert_eq!(p("/web").safe_name(), "web");
        assert_eq!(p("/prod/web").to_string(), "/prod/web");
        assert_eq!(
            serde_json::to_string(&p("/prod/web")).expect("serializes"),
            "\"/prod/web\""
        );
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics_and_is_idempotent(s in "\\PC*", base in "[a-z/.]{0,12}") {
            let base = PathId::parse(&base, None).ok();
            if let Ok(id) = PathId::parse(&s, base.as_ref()) {
                proptest::prop_assert_eq!(PathId::parse(id.as_str(), None), Ok(id.clone()));
                proptest::prop_assert!(id.as_str().starts_with('/'));
            }
        }
    }
}
