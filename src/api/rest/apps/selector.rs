//! Marathon's label selectors (`GET /v2/apps?label=`): `key` (exists), `key==value`,
//! `key!=value`, `key in (a, b)`, `key notin (a, b)`, comma-separated and all required. Keys and
//! values are `[-A-Za-z0-9_.]` characters, any other one escaped with `\`.

use std::collections::BTreeMap;

/// One requirement on an app's labels. Every kind needs the key present, as Marathon's.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Requirement {
    Exists(String),
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

impl Requirement {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k).is_some_and(|l| l != v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Requirement::NotIn(k, vs) => labels.get(k).is_some_and(|l| !vs.contains(l)),
        }
    }
}

/// A parsed selector: every requirement must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelSelector(Vec<Requirement>);

impl LabelSelector {
    pub fn parse(input: &str) -> Result<LabelSelector, String> {
        let fail =
            |reason: String| format!("Can not parse label selector {input}. Reason: {reason}");
        let mut p = Parser {
            chars: input.chars().collect(),
            at: 0,
        };
        let mut requirements = Vec::new();
        loop {
            requirements.push(p.requirement().map_err(fail)?);
            p.skip_space();
            match p.next() {
                None => break,
                Some(',') => continue,
                Some(c) => return Err(fail(format!("unexpected '{c}' at {}", p.at))),
            }
        }
        Ok(LabelSelector(requirements))
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| r.matches(labels))
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.at += c.is_some() as usize;
        c
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    /// A key or value: plain characters and escaped ones.
    fn term(&mut self) -> Result<String, String> {
        self.skip_space();
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c == '\\' {
                self.at += 1;
                out.push(self.next().ok_or("a '\\' ends the selector")?);
            } else if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                self.at += 1;
                out.push(c);
            } else {
                break;
            }
        }
        if out.is_empty() {
            return Err(match self.peek() {
                Some(c) => format!("expected a label key or value at {}, found '{c}'", self.at),
                None => "expected a label key or value at the end".to_string(),
            });
        }
        Ok(out)
    }

    fn eat(&mut self, word: &str) -> bool {
        let end = self.at + word.chars().count();
        let matches = self
            .chars
            .get(self.at..end)
            .is_some_and(|s| s.iter().copied().eq(word.chars()));
        if matches {
            self.at = end;
        }
        matches
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let key = self.term()?;
        self.skip_space();
        if self.eat("==") {
            return Ok(Requirement::Equals(key, self.term()?));
        }
        if self.eat("!=") {
            return Ok(Requirement::NotEquals(key, self.term()?));
        }
        let start = self.at;
        let set_op = if self.eat("notin") {
            Some(false)
        } else if self.eat("in") {
            Some(true)
        } else {
            None
        };
        if let Some(inside) = set_op {
            self.skip_space();
            if self.eat("(") {
                let values = self.set()?;
                return Ok(if inside {
                    Requirement::In(key, values)
                } else {
                    Requirement::NotIn(key, values)
                });
            }
            // Not a set operator after all ("key" followed by something else).
            self.at = start;
        }
        Ok(Requirement::Exists(key))
    }

    /// The values of a set after its `(`, through its `)`.
    fn set(&mut self) -> Result<Vec<String>, String> {
        let mut values = Vec::new();
        loop {
            values.push(self.term()?);
            self.skip_space();
            match self.next() {
                Some(',') => {}
                Some(')') => return Ok(values),
                Some(c) => {
                    return Err(format!(
                        "expected ',' or ')' at {}, found '{c}'",
                        self.at - 1
                    ));
                }
                None => return Err("a set is not closed with ')'".to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_operator_matches_as_marathon() {
        let web = labels(&[("env", "prod"), ("tier", "web"), ("a,b", "x y")]);
        let db = labels(&[("env", "dev"), ("tier", "db")]);
        let none = labels(&[]);
        let table: &[(&str, [bool; 3])] = &[
            ("env", [true, true, false]),
            ("missing", [false, false, false]),
            ("env==prod", [true, false, false]),
            ("env == prod", [true, false, false]),
            ("env!=prod", [false, true, false]),
            ("env in (prod, dev)", [true, true, false]),
            ("env in (staging)", [false, false, false]),
            ("env notin (prod)", [false, true, false]),
            ("env==prod,tier==web", [true, false, false]),
            ("env, tier in (db)", [false, true, false]),
            ("tier notin (web,db),env", [false, false, false]),
            (r"a\,b==x\ y", [true, false, false]),
            ("in", [false, false, false]),
        ];
        for (selector, expected) in table {
            let parsed = LabelSelector::parse(selector).unwrap_or_else(|e| panic!("{e}"));
            let got = [
                parsed.matches(&web),
                parsed.matches(&db),
                parsed.matches(&none),
            ];
            assert_eq!(&got, expected, "{selector}");
        }
    }

    #[test]
    fn malformed_selectors_are_refused_naming_the_selector() {
        for bad in [
            "",
            "env==",
            "env in (a",
            "env in (a b)",
            "==x",
            "env==a b",
            "a\\",
        ] {
            let err = LabelSelector::parse(bad).expect_err(bad);
            assert!(
                err.starts_with(&format!("Can not parse label selector {bad}.")),
                "{bad}: {err}"
            );
        }
    }
}
