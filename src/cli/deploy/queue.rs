//! `baton queue`: the launch queue as a table, with the offer funnel's reasons of why the last
//! offers did not fit.

use crate::cli::Client;
use crate::proto::v1::GetQueueRequest;
use crate::proto::v1::app_service_client::AppServiceClient;
use serde_json::Value;

/// `3 instance(s) to launch; last offers: InsufficientMemory 2/2` (or the backoff left).
pub(super) fn waiting_line(item: &Value) -> String {
    let count = item["count"].as_u64().unwrap_or(0);
    let mut line = format!("{count} instance(s) to launch");
    let left = item["delay"]["timeLeftSeconds"].as_u64().unwrap_or(0);
    if left > 0 {
        line.push_str(&format!("; backed off for {left} s after failures"));
    }
    let reasons = reasons(item);
    if reasons.is_empty() {
        line.push_str("; no offer declined yet");
    } else {
        line.push_str(&format!("; last offers: {}", reasons.join(", ")));
    }
    line
}

/// The funnel reasons that declined some of the last offers: `Reason declined/processed`.
fn reasons(item: &Value) -> Vec<String> {
    item["processedOffersSummary"]["rejectSummaryLastOffers"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .filter(|s| s["declined"].as_u64().unwrap_or(0) > 0)
                .map(|s| {
                    format!(
                        "{} {}/{}",
                        s["reason"].as_str().unwrap_or("?"),
                        s["declined"].as_u64().unwrap_or(0),
                        s["processed"].as_u64().unwrap_or(0)
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `baton queue`: the apps waiting to launch, with the funnel of why the last offers did not
/// fit (`--json`: Marathon's `{"queue": [...]}`).
pub async fn run_queue(client: &Client, json: bool) -> anyhow::Result<()> {
    let reply = apps_call!(client, get_queue, GetQueueRequest {})?;
    let items: Vec<Value> = reply
        .item_json
        .iter()
        .map(|j| serde_json::from_str(j))
        .collect::<Result<_, _>>()?;
    if json {
        println!("{}", serde_json::json!({ "queue": items }));
        return Ok(());
    }
    print!("{}", queue_table(&items));
    Ok(())
}

/// The queue as a table: app, instances waiting, backoff left, offers processed and unused,
/// and the reasons of the last offers in Marathon's funnel order.
fn queue_table(items: &[Value]) -> String {
    let mut rows = vec![[
        "APP".to_string(),
        "WAITING".to_string(),
        "DELAY".to_string(),
        "OFFERS".to_string(),
        "UNUSED".to_string(),
        "WHY NOT (last offers)".to_string(),
    ]];
    for item in items {
        let summary = &item["processedOffersSummary"];
        let left = item["delay"]["timeLeftSeconds"].as_u64().unwrap_or(0);
        let reasons = reasons(item);
        rows.push([
            item["app"]["id"].as_str().unwrap_or("?").to_string(),
            item["count"].as_u64().unwrap_or(0).to_string(),
            if left > 0 {
                format!("{left}s")
            } else {
                "-".into()
            },
            summary["processedOffersCount"]
                .as_u64()
                .unwrap_or(0)
                .to_string(),
            summary["unusedOffersCount"]
                .as_u64()
                .unwrap_or(0)
                .to_string(),
            if reasons.is_empty() {
                "-".into()
            } else {
                reasons.join(", ")
            },
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_queue_table_shows_the_reasons_of_the_last_offers() {
        let item = json!({
            "app": {"id": "/big"}, "count": 2,
            "delay": {"timeLeftSeconds": 0, "overdue": true},
            "processedOffersSummary": {
                "processedOffersCount": 6, "unusedOffersCount": 6,
                "rejectSummaryLastOffers": [
                    {"reason": "UnfulfilledRole", "declined": 0, "processed": 3},
                    {"reason": "InsufficientMemory", "declined": 3, "processed": 3},
                ],
            },
        });
        let table = queue_table(std::slice::from_ref(&item));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("APP "));
        assert!(lines[1].starts_with("/big "), "{table}");
        assert!(lines[1].ends_with("InsufficientMemory 3/3"), "{table}");
        assert_eq!(
            waiting_line(&item),
            "2 instance(s) to launch; last offers: InsufficientMemory 3/3"
        );
    }
}
