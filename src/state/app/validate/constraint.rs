//! One placement constraint typed from its raw form, with Marathon's messages for each mistake.

use crate::state::app::{Constraint, ConstraintOperator, Violations};

/// Types one `[field, OPERATOR, value?]`, with Marathon's messages for arity and value rules.
pub(in crate::state::app) fn constraint(
    path: &str,
    raw: Vec<String>,
    v: &mut Violations,
) -> Option<Constraint> {
    let spec = raw.join(",");
    let c = match Constraint::try_from(raw) {
        Ok(c) => c,
        Err(msg) if msg.starts_with("illegal") || msg.starts_with("Missing") => {
            v.add(path, msg);
            return None;
        }
        Err(_) => {
            v.add(path, format!("illegal constraint specification {spec}"));
            return None;
        }
    };
    let value = c.value.as_deref();
    let error = match (c.operator, value) {
        (ConstraintOperator::Unique, Some(_)) => Some("Value specified but not used".to_owned()),
        (ConstraintOperator::Cluster | ConstraintOperator::Is, None) => {
            Some("Missing value".to_owned())
        }
        (ConstraintOperator::GroupBy | ConstraintOperator::MaxPer, Some(n))
            if n.parse::<i32>().is_err() =>
        {
            Some(format!(
                "Value was specified but is not a number ({} may either have no value or an integer value)",
                c.operator.as_str()
            ))
        }
        (ConstraintOperator::Like | ConstraintOperator::Unlike, None) => {
            Some("A regular expression value must be provided".to_owned())
        }
        (ConstraintOperator::Like | ConstraintOperator::Unlike, Some(re))
            if !plausible_regex(re) =>
        {
            Some(format!("'{re}' is not a valid regular expression"))
        }
        _ => None,
    };
    match error {
        Some(e) => {
            v.add(path, e);
            None
        }
        None => Some(c),
    }
}

/// No regex engine is linked in, so only the structural mistakes are caught here: unbalanced
/// groups or classes and a dangling escape.
fn plausible_regex(re: &str) -> bool {
    let mut depth = 0i32;
    let mut in_class = false;
    let mut chars = re.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' if chars.next().is_none() => return false,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0 && !in_class
}
