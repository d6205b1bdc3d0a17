//! `[log]`: the log format (from the file or `--log-format`) and the tracing filter.

use crate::config::section::{Need, Section};
use crate::config::values::as_string;
use crate::config::{LogConfig, LogFormat, Overrides};

pub(super) fn read_log(
    s: &mut Section<'_>,
    overrides: &Overrides,
    p: &mut Vec<String>,
) -> Option<LogConfig> {
    let format = s.take("format", Need::Optional, p, |v| {
        as_string(v)?
            .parse::<LogFormat>()
            .map_err(|e| format!("is an {e}"))
    });
    let filter = s.take("filter", Need::Optional, p, |v| {
        let f = as_string(v)?;
        match tracing_subscriber::EnvFilter::try_new(&f) {
            Ok(_) => Ok(f),
            Err(e) => Err(format!("is not a valid filter \"{f}\": {e}")),
        }
    });
    let format = match (overrides.log_format, format) {
        (Some(flag), _) => flag,
        (None, None) => LogFormat::default(),
        (None, Some(from_file)) => from_file?,
    };
    Some(LogConfig {
        format,
        filter: filter.unwrap_or(None).filter(|f| !f.is_empty()),
    })
}
