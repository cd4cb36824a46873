//! The monitoring that ships in docker/monitoring/: every series the Grafana dashboard and the Prometheus alert
//! rules query exists in the gateway's /metrics after some traffic, with the labels they use; the dashboard is valid
//! JSON with unique panel ids and no overlapping panels; and the node gauges tell the node's state.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use lotus_rest::auth::Perm;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{Harness, Options, PATIENCE};

/// Labels Prometheus adds to every series it scrapes: a query may use them although /metrics does not carry them.
const TARGET_LABELS: &[&str] = &["instance", "job"];

/// Series Prometheus makes itself for each target, which the alert rules (not the dashboard) may use.
const PROMETHEUS_SERIES: &[&str] = &["up"];

fn monitoring_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docker/monitoring")
}

fn dashboard() -> Value {
    let path = monitoring_dir().join("grafana/dashboards/lotus-rest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every panel of the dashboard, those inside rows included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in list.as_array().into_iter().flatten() {
            out.push(panel);
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// The PromQL of every panel, as (panel title, expression).
fn dashboard_queries(dashboard: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for panel in panels(dashboard) {
        let title = panel["title"].as_str().unwrap_or("?").to_string();
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                out.push((title.clone(), expr.to_string()));
            }
        }
    }
    out
}

/// The `expr` of every rule of a Prometheus rule file, as (alert name, expression). Single-line values and
/// block scalars (`expr: |`) are read.
fn rule_queries(yaml: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut out = Vec::new();
    let mut alert = String::from("?");
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if let Some(name) = trimmed
            .strip_prefix("- alert:")
            .or_else(|| trimmed.strip_prefix("alert:"))
        {
            alert = name.trim().to_string();
        }
        if let Some(value) = trimmed.strip_prefix("expr:") {
            let value = value.trim();
            if value == "|" || value == ">" || value == "|-" || value == ">-" {
                let indent = line.len() - trimmed.len();
                let mut expr = Vec::new();
                while i + 1 < lines.len() {
                    let next = lines[i + 1];
                    let next_indent = next.len() - next.trim_start().len();
                    if !next.trim().is_empty() && next_indent <= indent {
                        break;
                    }
                    expr.push(next.trim());
                    i += 1;
                }
                out.push((alert.clone(), expr.join(" ")));
            } else {
                out.push((alert.clone(), value.trim_matches('\'').to_string()));
            }
        }
        i += 1;
    }
    out
}

/// The series of a scrape: each sample name with the label names it carries.
fn series(scrape: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in scrape
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let labels = out.entry(line[..name_end].to_string()).or_default();
        if line[name_end..].starts_with('{') {
            let body = &line[name_end + 1..line.rfind('}').expect("a closed label set")];
            let mut rest = body;
            while let Some(eq) = rest.find('=') {
                labels.insert(rest[..eq].trim().trim_start_matches(',').trim().to_string());
                // Skip the quoted value, escapes included.
                let after = &rest[eq + 1..];
                let mut chars = after.char_indices().skip(1);
                let mut end = after.len();
                while let Some((at, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => {
                            end = at + 1;
                            break;
                        }
                        _ => {}
                    }
                }
                rest = &after[end..];
            }
        }
    }
    out
}

/// A value of one series of a scrape, given as it is printed (`name` or `name{label="value"}`).
fn value(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l[series.len()..].trim().parse().ok())
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str,
    Number,
    /// A Grafana variable (`$instance`, `${x}`).
    Var,
    /// A range or subquery (`[5m]`), skipped.
    Range,
    Punct(char),
}

fn tokenize(expr: &str) -> Vec<Token> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' || c == '`' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push(Token::Str);
        } else if c == '[' {
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
            i += 1;
            out.push(Token::Range);
        } else if c == '$' {
            i += 1;
            if chars.get(i) == Some(&'{') {
                while i < chars.len() && chars[i] != '}' {
                    i += 1;
                }
                i += 1;
            } else {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
            out.push(Token::Var);
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            out.push(Token::Number);
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    out
}

/// What a PromQL expression asks of the series.
#[derive(Debug, Default)]
struct Uses {
    /// Each series selected, with the labels its selector names.
    selected: Vec<(String, Vec<String>)>,
    /// Labels grouped by (`by`, `without`), each with the series of the expression it aggregates.
    grouped: Vec<(String, Vec<String>)>,
    /// Labels vector matching names (`on`, `ignoring`, `group_left`, `group_right`).
    matched: Vec<String>,
}

const KEYWORDS: &[&str] = &["and", "or", "unless", "bool", "offset", "inf", "nan"];
const GROUPING: &[&str] = &["by", "without"];
const MATCHING: &[&str] = &["on", "ignoring", "group_left", "group_right"];

/// The index of the `)` that closes the `(` at `open`.
fn closing(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses");
}

/// The identifiers of a parenthesized list starting at `open`.
fn label_list(tokens: &[Token], open: usize) -> (Vec<String>, usize) {
    let close = closing(tokens, open);
    let labels = tokens[open + 1..close]
        .iter()
        .filter_map(|t| match t {
            Token::Ident(l) => Some(l.clone()),
            _ => None,
        })
        .collect();
    (labels, close)
}

fn analyze(expr: &str) -> Uses {
    let tokens = tokenize(expr);
    let mut uses = Uses::default();
    // Series names by token index, for the scope of `by (...)`.
    let mut series_at: Vec<(usize, String)> = Vec::new();
    let mut pending_groups: Vec<(Vec<String>, usize, usize)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let Token::Ident(name) = &tokens[i] else {
            assert!(
                tokens[i] != Token::Punct('{'),
                "a selector without a series name in `{expr}`"
            );
            i += 1;
            continue;
        };
        let next = tokens.get(i + 1);
        let lower = name.to_ascii_lowercase();
        if GROUPING.contains(&lower.as_str()) || MATCHING.contains(&lower.as_str()) {
            if next != Some(&Token::Punct('(')) {
                i += 1;
                continue;
            }
            let (labels, close) = label_list(&tokens, i + 1);
            if GROUPING.contains(&lower.as_str()) {
                // `sum by (l) (expr)`: the aggregated expression follows; `sum (expr) by (l)`: it precedes.
                let scope = if tokens.get(close + 1) == Some(&Token::Punct('(')) {
                    (close + 1, closing(&tokens, close + 1))
                } else {
                    let end = i.checked_sub(1).expect("`by` after an expression");
                    assert_eq!(tokens[end], Token::Punct(')'), "`by` after `{expr}`");
                    let mut depth = 0;
                    let mut start = end;
                    for j in (0..=end).rev() {
                        match tokens[j] {
                            Token::Punct(')') => depth += 1,
                            Token::Punct('(') => {
                                depth -= 1;
                                if depth == 0 {
                                    start = j;
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                    (start, end)
                };
                pending_groups.push((labels, scope.0, scope.1));
            } else {
                uses.matched.extend(labels);
            }
            i = close + 1;
        } else if next == Some(&Token::Punct('('))
            || matches!(next, Some(Token::Ident(g)) if GROUPING.contains(&g.to_ascii_lowercase().as_str()))
            || KEYWORDS.contains(&lower.as_str())
        {
            // A function or an aggregation (`sum (`, `sum by (`), or a keyword.
            i += 1;
        } else if next == Some(&Token::Punct('{')) {
            let close = tokens[i + 1..]
                .iter()
                .position(|t| *t == Token::Punct('}'))
                .map(|p| p + i + 1)
                .expect("a closed selector");
            let labels = tokens[i + 2..close]
                .iter()
                .enumerate()
                .filter_map(|(k, t)| match (t, tokens.get(i + 3 + k)) {
                    (Token::Ident(l), Some(Token::Punct('=' | '!'))) => Some(l.clone()),
                    _ => None,
                })
                .collect();
            uses.selected.push((name.clone(), labels));
            series_at.push((i, name.clone()));
            i = close + 1;
        } else {
            uses.selected.push((name.clone(), Vec::new()));
            series_at.push((i, name.clone()));
            i += 1;
        }
    }
    for (labels, start, end) in pending_groups {
        let inside: Vec<String> = series_at
            .iter()
            .filter(|(at, _)| (start..=end).contains(at))
            .map(|(_, n)| n.clone())
            .collect();
        for label in labels {
            uses.grouped.push((label, inside.clone()));
        }
    }
    uses
}

/// What the queries ask of the scrape that it does not have: unknown series, and labels not on the series.
fn missing(
    queries: &[(String, String)],
    scrape: &BTreeMap<String, BTreeSet<String>>,
    other_series: &[&str],
) -> Vec<String> {
    let labels_of = |series: &str| -> Option<BTreeSet<String>> {
        let mut labels: BTreeSet<String> = TARGET_LABELS.iter().map(|l| l.to_string()).collect();
        if other_series.contains(&series) {
            return Some(labels);
        }
        labels.extend(scrape.get(series)?.iter().cloned());
        Some(labels)
    };
    let mut problems = Vec::new();
    for (whose, expr) in queries {
        let uses = analyze(expr);
        if uses.selected.is_empty() {
            problems.push(format!("{whose}: `{expr}` selects no series"));
        }
        for (series, labels) in &uses.selected {
            let Some(has) = labels_of(series) else {
                problems.push(format!("{whose}: series {series} is not exported"));
                continue;
            };
            for label in labels.iter().filter(|l| !has.contains(*l)) {
                problems.push(format!("{whose}: {series} has no label {label}"));
            }
        }
        for (label, inside) in &uses.grouped {
            for series in inside {
                if labels_of(series).is_some_and(|has| !has.contains(label)) {
                    problems.push(format!(
                        "{whose}: grouped by {label}, which {series} does not carry"
                    ));
                }
            }
        }
        for label in &uses.matched {
            let on_some = uses
                .selected
                .iter()
                .any(|(s, _)| labels_of(s).is_some_and(|has| has.contains(label)));
            if !on_some {
                problems.push(format!(
                    "{whose}: matched on {label}, which no series of `{expr}` carries"
                ));
            }
        }
    }
    problems
}

/// Checks the dashboard's layout: unique panel ids, and no two panels on the same cells of the grid.
fn layout_problems(dashboard: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids = BTreeSet::new();
    let mut boxes: Vec<(String, i64, i64, i64, i64)> = Vec::new();
    for panel in panels(dashboard) {
        let title = panel["title"].as_str().unwrap_or("?").to_string();
        match panel["id"].as_i64() {
            Some(id) if ids.insert(id) => {}
            Some(id) => problems.push(format!("panel id {id} is used twice ({title})")),
            None => problems.push(format!("panel {title} has no id")),
        }
        let g = &panel["gridPos"];
        let (Some(x), Some(y), Some(w), Some(h)) = (
            g["x"].as_i64(),
            g["y"].as_i64(),
            g["w"].as_i64(),
            g["h"].as_i64(),
        ) else {
            problems.push(format!("panel {title} has no gridPos"));
            continue;
        };
        if x < 0 || w < 1 || x + w > 24 || h < 1 {
            problems.push(format!("panel {title} does not fit the 24-column grid"));
        }
        for (other, ox, oy, ow, oh) in &boxes {
            if x < ox + ow && *ox < x + w && y < oy + oh && *oy < y + h {
                problems.push(format!("panels {other} and {title} overlap"));
            }
        }
        boxes.push((title, x, y, w, h));
        if panel["type"] != "row" && panel["targets"].as_array().is_none_or(|t| t.is_empty()) {
            problems.push(format!("panel {} has no query", panel["title"]));
        }
    }
    problems
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket_call(h: &Harness, token: &str) -> Socket {
    let mut request = format!("{}/rpc/v1", h.base.replacen("http", "ws", 1))
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let call = json!({"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": [], "id": 1});
    ws.send(Message::text(call.to_string())).await.unwrap();
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a reply within 10 s")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = message {
            let reply: Value = serde_json::from_str(text.as_str()).unwrap();
            if reply["id"] == 1 {
                assert!(reply["result"]["Height"].is_i64(), "{reply}");
                return ws;
            }
        }
    }
}

#[actix_web::test]
async fn every_series_the_dashboard_and_the_alerts_query_is_exported_after_traffic() {
    let h = Harness::with(Options {
        // Tokens are verified by asking the node, so that its verdicts are remembered (and counted).
        secret_known: false,
        vars: vec![
            // A token may spend 3 units at once, refilled at 0.1 a second: a second chain read (2 units each) is
            // refused unless 10 s pass between them.
            ("LOTUS_REST_RATELIMIT_PERTOKEN", "0.1".into()),
            ("LOTUS_REST_RATELIMIT_BURSTSECONDS", "1".into()),
            ("LOTUS_REST_RATELIMIT_PERIP", "1000".into()),
            // A Redis that is not there: the limits are this replica's own, and the Redis series say so.
            ("LOTUS_REST_CLUSTER_REDISURL", "redis://127.0.0.1:1".into()),
        ],
        ..Options::default()
    })
    .await;
    let read = h.token_up_to(Perm::Read);

    let head = h.get("/v1/chain/head", None).await;
    assert_eq!(head.status, 200, "{}", head.text);
    let head = head.json();
    let height = head["Height"].as_i64().expect("a height");
    let block = head["Cids"][0]["/"]
        .as_str()
        .expect("a block CID")
        .to_string();
    for _ in 0..2 {
        // Immutable: the second read is answered from the cache.
        assert_eq!(
            h.get(&format!("/v1/blocks/{block}"), None).await.status,
            200
        );
    }
    h.get("/v1/no-such-route", None)
        .await
        .problem(404, "route_not_found");
    h.get("/v1/actors/t0999999", None)
        .await
        .problem(404, "actor_not_found");
    let forged = lotus_rest::auth::Secret::generate().mint(Perm::Admin.up_to());
    assert_eq!(h.get("/v1/chain/head", Some(&forged)).await.status, 401);
    // The token's first read is verified by the node; the second is verified from the remembered verdict, and
    // refused by the token's rate limit.
    assert_eq!(h.get("/v1/chain/head", Some(&read)).await.status, 200);
    h.get("/v1/chain/head", Some(&read))
        .await
        .problem(429, "rate_limited");
    let rpc = h
        .send_json(
            reqwest::Method::POST,
            "/rpc/v1",
            None,
            Some(&json!({"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": [], "id": 1})),
        )
        .await;
    assert_eq!(rpc.status, 200, "{}", rpc.text);
    // A stream and a socket, held open while the metrics are read.
    let stream = reqwest::Client::new()
        .get(format!("{}/v1/streams/heads", h.base))
        .send()
        .await
        .expect("the stream opens");
    assert_eq!(stream.status(), 200);
    let other = h.token_up_to(Perm::Admin);
    let _socket = socket_call(&h, &other).await;

    let scrape = h.metrics_text().await;
    drop(stream);
    let exported = series(&scrape);

    // The values the new gauges show are the node's and the gateway's.
    assert_eq!(value(&scrape, "lotus_rest_node_up"), Some(1.0), "{scrape}");
    assert_eq!(
        value(&scrape, "lotus_rest_node_head_height"),
        Some(height as f64)
    );
    let lag = value(&scrape, "lotus_rest_node_sync_lag_seconds").expect("a lag");
    assert!(
        (0.0..120.0).contains(&lag),
        "the head was made just now, yet it lags {lag} s"
    );
    assert!(value(&scrape, r#"lotus_rest_streams{what="open"}"#) >= Some(1.0));
    assert_eq!(value(&scrape, "lotus_rest_streams_max"), Some(1000.0));
    assert!(value(&scrape, "lotus_rest_websocket_connections") >= Some(1.0));
    assert_eq!(
        value(&scrape, "lotus_rest_websocket_connections_max"),
        Some(1000.0)
    );
    assert_eq!(
        value(&scrape, r#"lotus_rest_rate_limited_total{limit="token"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(&scrape, r#"lotus_rest_rate_limited_callers{limit="token"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(&scrape, r#"lotus_rest_rate_limited_total{limit="address"}"#),
        Some(0.0)
    );

    let dashboard = dashboard();
    let queries = dashboard_queries(&dashboard);
    assert!(
        queries.len() >= 20,
        "the dashboard has {} queries",
        queries.len()
    );
    let mut problems = missing(&queries, &exported, &[]);
    // The template variables' queries (`label_values(series, label)`).
    for var in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(query) = var["query"]["query"].as_str().or(var["query"].as_str()) else {
            continue;
        };
        if let Some(args) = query
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
        {
            let (series, label) = args.split_once(',').expect("label_values(series, label)");
            let (series, label) = (series.trim(), label.trim());
            let known = exported
                .get(series)
                .is_some_and(|l| l.contains(label) || TARGET_LABELS.contains(&label));
            if !known {
                problems.push(format!(
                    "variable {}: {series} with label {label} is not exported",
                    var["name"]
                ));
            }
        }
    }
    let rules = std::fs::read_to_string(monitoring_dir().join("alerts.yml")).unwrap();
    let rules = rule_queries(&rules);
    assert!(
        rules.len() >= 7,
        "the rules hold {} expressions",
        rules.len()
    );
    problems.extend(missing(&rules, &exported, PROMETHEUS_SERIES));
    assert!(
        problems.is_empty(),
        "{}\n\nscrape:\n{scrape}",
        problems.join("\n")
    );
}

#[test]
fn the_dashboard_is_valid_json_with_unique_ids_and_no_overlap() {
    let dashboard = dashboard();
    assert_eq!(dashboard["uid"], "lotus-rest");
    assert!(dashboard["schemaVersion"].as_i64().is_some());
    let problems = layout_problems(&dashboard);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Every query goes to the data source the dashboard is given.
    for panel in panels(&dashboard)
        .into_iter()
        .filter(|p| p["type"] != "row")
    {
        assert_eq!(
            panel["datasource"]["uid"], "${datasource}",
            "{}",
            panel["title"]
        );
    }
}

#[test]
fn every_alert_has_a_runbook() {
    let rules = std::fs::read_to_string(monitoring_dir().join("alerts.yml")).unwrap();
    let blocks: Vec<&str> = rules.split("- alert:").skip(1).collect();
    assert_eq!(
        blocks.len(),
        rule_queries(&rules).len(),
        "one expression per alert"
    );
    for block in blocks {
        let name = block.lines().next().unwrap_or("").trim();
        let runbook = block
            .lines()
            .find_map(|l| l.trim().strip_prefix("runbook:"))
            .unwrap_or_else(|| panic!("{name} has no runbook"));
        assert!(
            runbook.trim().trim_matches('"').len() > 20,
            "{name}: {runbook}"
        );
        assert!(block.contains("severity:"), "{name} has no severity");
    }
}

/// The checks above can fail: a series, a selector label, a grouping label or a matching label that the scrape
/// lacks is each reported.
#[test]
fn the_query_check_reports_what_the_scrape_lacks() {
    let scrape = "# TYPE a_total counter\na_total{route=\"/x\",status=\"200\"} 1\n\
                  b_bucket{route=\"/x\",le=\"0.1\"} 1\nb_bucket{route=\"/x\",le=\"+Inf\"} 1\nc 3\nd{what=\"open\"} 1\n";
    let exported = series(scrape);
    let q = |e: &str| vec![("q".to_string(), e.to_string())];
    let good = [
        r#"sum by (route) (rate(a_total{instance=~"$instance", status=~"5.."}[$__rate_interval]))"#,
        r#"histogram_quantile(0.99, sum by (route, le) (rate(b_bucket[5m]))) > 0.5 and sum(rate(a_total[5m])) > 0"#,
        r#"d{what="open"} / ignoring(what) c > 0.8"#,
        r#"sum(rate(a_total[5m])) by (status)"#,
    ];
    for expr in good {
        assert_eq!(
            missing(&q(expr), &exported, &[]),
            Vec::<String>::new(),
            "{expr}"
        );
    }
    let bad = [
        ("sum(rate(nope_total[5m]))", "nope_total is not exported"),
        ("rate(b[5m])", "b is not exported"),
        (r#"a_total{kind="x"}"#, "a_total has no label kind"),
        ("sum by (method) (rate(a_total[5m]))", "grouped by method"),
        (
            "histogram_quantile(0.9, sum by (le) (rate(a_total[5m])))",
            "grouped by le",
        ),
        ("sum(rate(a_total[5m])) by (what)", "grouped by what"),
        ("a_total / on(what) c", "matched on what"),
        ("up == 0", "up is not exported"),
        ("sum(rate(x[5m]))", "x is not exported"),
    ];
    for (expr, expected) in bad {
        let problems = missing(&q(expr), &exported, &[]);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{expr}: {problems:?}"
        );
    }
    assert_eq!(
        missing(&q("up == 0"), &exported, PROMETHEUS_SERIES),
        Vec::<String>::new()
    );
    // The rule reader takes single-line and block expressions.
    let rules = "groups:\n  - name: g\n    rules:\n      - alert: One\n        expr: a_total > 1\n        for: 1m\n      \
                 - alert: Two\n        expr: |\n          sum(c)\n            > 2\n        labels: {}\n";
    assert_eq!(
        rule_queries(rules),
        vec![
            ("One".to_string(), "a_total > 1".to_string()),
            ("Two".to_string(), "sum(c) > 2".to_string())
        ]
    );
    // Overlapping panels and a repeated id are reported.
    let layout = json!({"panels": [
        {"id": 1, "type": "stat", "title": "A", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 4}, "targets": [{"expr": "c"}]},
        {"id": 1, "type": "stat", "title": "B", "gridPos": {"x": 6, "y": 2, "w": 12, "h": 4}, "targets": [{"expr": "c"}]},
    ]});
    let problems = layout_problems(&layout);
    assert!(
        problems.iter().any(|p| p.contains("used twice")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("overlap")),
        "{problems:?}"
    );
}

#[actix_web::test]
async fn the_node_gauges_follow_the_node_without_its_stream_and_tell_when_it_stops() {
    let h = Harness::with(Options {
        // The head is read with ChainHead at scrape time, not from the node's stream.
        vars: vec![("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false".into())],
        ..Options::default()
    })
    .await;
    let height = h.sim.head().height;
    let scrape = h.metrics_text().await;
    assert_eq!(value(&scrape, "lotus_rest_node_up"), Some(1.0), "{scrape}");
    assert_eq!(
        value(&scrape, "lotus_rest_node_head_height"),
        Some(height as f64)
    );
    let lag = value(&scrape, "lotus_rest_node_sync_lag_seconds").expect("a lag");
    h.sim.stop().await;
    let deadline = Instant::now() + PATIENCE;
    let scrape = loop {
        let scrape = h.metrics_text().await;
        if value(&scrape, "lotus_rest_node_up") == Some(0.0) || Instant::now() > deadline {
            break scrape;
        }
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(value(&scrape, "lotus_rest_node_up"), Some(0.0), "{scrape}");
    // The newest head known stays, and its lag keeps counting.
    assert_eq!(
        value(&scrape, "lotus_rest_node_head_height"),
        Some(height as f64)
    );
    assert!(value(&scrape, "lotus_rest_node_sync_lag_seconds") >= Some(lag));
}
