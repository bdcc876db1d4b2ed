//! `docs/openapi.json` and `docs/API.md` are the OpenAPI document the server serves at
//! `GET /openapi.json` (generated from the route annotations) and a reference rendered from it.
//! This test fails when either is out of date; to rewrite both:
//!
//!     RAMPART_UPDATE_DOCS=1 cargo test -p rampart-server --test api_reference

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::{Map, Value};
use utoipa::OpenApi;

fn docs_dir() -> PathBuf {
    PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../docs")
}

#[test]
fn the_api_reference_in_docs_is_generated_from_the_openapi_document() {
    let json = rampart_server::ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    let doc: Value = serde_json::from_str(&json).unwrap();
    let files = [
        ("openapi.json", format!("{json}\n")),
        ("API.md", render(&doc)),
    ];
    let update = std::env::var_os("RAMPART_UPDATE_DOCS").is_some();
    let mut stale = Vec::new();
    for (name, want) in files {
        let path = docs_dir().join(name);
        if update {
            std::fs::create_dir_all(docs_dir()).unwrap();
            std::fs::write(&path, &want).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(want.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "out of date: {} (run RAMPART_UPDATE_DOCS=1 cargo test -p rampart-server --test \
         api_reference, then review and commit the change)",
        stale.join(", ")
    );
}

const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

/// The whole reference: the document's description, its routes by tag, then its schemas.
fn render(doc: &Value) -> String {
    let mut out = String::new();
    let info = &doc["info"];
    let _ = writeln!(out, "# {} HTTP API reference\n", text(&info["title"]));
    out.push_str(
        "Generated from the OpenAPI document that `rampart serve` publishes at `GET /openapi.json` \
         (a copy is `docs/openapi.json`), which is itself generated from the route handlers: do \
         not edit by hand. `crates/server/tests/api_reference.rs` fails when this file is out of \
         date and rewrites it with `RAMPART_UPDATE_DOCS=1`.\n\n",
    );
    let _ = writeln!(out, "{}\n", text(&info["description"]));
    routes(doc, &mut out);
    schemas(doc, &mut out);
    out
}

/// `## Routes`: one section per tag, one entry per operation, in the document's tag order.
fn routes(doc: &Value, out: &mut String) {
    let empty = Map::new();
    let paths = doc["paths"].as_object().unwrap_or(&empty);
    let mut tags: Vec<(String, String)> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| (text(&t["name"]), text(&t["description"])))
        .collect();
    const UNTAGGED: &str = "other";
    tags.push((UNTAGGED.into(), String::new()));

    out.push_str("## Routes\n\n| method | path | summary |\n| --- | --- | --- |\n");
    let operations: Vec<(&str, &str, &Value)> = tags
        .iter()
        .flat_map(|(tag, _)| {
            paths.iter().flat_map(move |(path, item)| {
                METHODS.iter().filter_map(move |m| {
                    let op = item.get(*m)?;
                    let op_tag = op["tags"][0].as_str().unwrap_or(UNTAGGED);
                    (op_tag == tag).then_some((*m, path.as_str(), op))
                })
            })
        })
        .collect();
    for (method, path, op) in &operations {
        let _ = writeln!(
            out,
            "| {} | [`{path}`](#{}) | {} |",
            method.to_uppercase(),
            anchor(&format!("{} {path}", method.to_uppercase())),
            cell(&text(&op["summary"]))
        );
    }
    out.push('\n');
    for (tag, description) in &tags {
        let ops: Vec<_> = operations
            .iter()
            .filter(|(_, _, op)| op["tags"][0].as_str().unwrap_or(UNTAGGED) == tag)
            .collect();
        if ops.is_empty() {
            continue;
        }
        let _ = writeln!(out, "## {tag}\n");
        if !description.is_empty() {
            let _ = writeln!(out, "{description}.\n");
        }
        for (method, path, op) in ops {
            operation(method, path, op, out);
        }
    }
}

fn operation(method: &str, path: &str, op: &Value, out: &mut String) {
    let _ = writeln!(out, "### {} {path}\n", method.to_uppercase());
    let summary = text(&op["summary"]);
    let description = text(&op["description"]);
    if !summary.is_empty() {
        let _ = writeln!(out, "{summary}\n");
    }
    if !description.is_empty() && description != summary {
        let _ = writeln!(out, "{description}\n");
    }
    if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
        out.push_str("| parameter | in | type | required | description |\n");
        out.push_str("| --- | --- | --- | --- | --- |\n");
        for p in params {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                text(&p["name"]),
                text(&p["in"]),
                type_of(&p["schema"]),
                yes_no(&p["required"]),
                cell(&text(&p["description"]))
            );
        }
        out.push('\n');
    }
    if let Some(body) = op.get("requestBody") {
        let _ = writeln!(
            out,
            "Request body{}:\n",
            if body["required"] == Value::Bool(true) {
                " (required)"
            } else {
                ""
            }
        );
        let description = text(&body["description"]);
        if !description.is_empty() {
            let _ = writeln!(out, "{description}\n");
        }
        for (media, content) in body["content"].as_object().into_iter().flatten() {
            let _ = writeln!(out, "- `{media}`: {}", type_of(&content["schema"]));
        }
        out.push('\n');
    }
    if let Some(responses) = op["responses"].as_object() {
        out.push_str("| status | description | body |\n| --- | --- | --- |\n");
        for (status, response) in responses {
            let bodies: Vec<String> = response["content"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(media, c)| format!("`{media}` {}", type_of(&c["schema"])))
                .collect();
            let _ = writeln!(
                out,
                "| {status} | {} | {} |",
                cell(&text(&response["description"])),
                cell(&bodies.join("; "))
            );
        }
        out.push('\n');
    }
}

/// `## Schemas`: every named schema with its fields, or its values for an enum.
fn schemas(doc: &Value, out: &mut String) {
    let Some(schemas) = doc["components"]["schemas"].as_object() else {
        return;
    };
    out.push_str("## Schemas\n\n");
    for (name, schema) in schemas {
        let _ = writeln!(out, "### {name}\n");
        let description = text(&schema["description"]);
        if !description.is_empty() {
            let _ = writeln!(out, "{description}\n");
        }
        let properties = schema["properties"].as_object().filter(|p| !p.is_empty());
        match properties {
            Some(properties) => fields(schema, properties, out),
            None => {
                let _ = writeln!(out, "{}\n", type_of(schema));
            }
        }
    }
}

fn fields(schema: &Value, properties: &Map<String, Value>, out: &mut String) {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    out.push_str("| field | type | required | description |\n| --- | --- | --- | --- |\n");
    for (field, property) in properties {
        let _ = writeln!(
            out,
            "| `{field}` | {} | {} | {} |",
            type_of(property),
            if required.contains(&field.as_str()) {
                "yes"
            } else {
                "no"
            },
            cell(&text(&property["description"]))
        );
    }
    out.push('\n');
}

/// A schema in a few words: a link for a reference, the values of an enum, `array of …`,
/// alternatives joined by "or".
fn type_of(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("[{name}](#{})", anchor(name));
    }
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
        return format!("one of {}", values.join(", "));
    }
    if let Some(value) = schema.get("const") {
        return format!("`{value}`");
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(alternatives) = schema[key].as_array() {
            let joiner = if key == "allOf" { " and " } else { " or " };
            let parts: Vec<String> = alternatives.iter().map(type_of).collect();
            return parts.join(joiner);
        }
    }
    let types: Vec<String> = match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(ts) => ts.iter().map(text).collect(),
        _ => Vec::new(),
    };
    let named: Vec<String> = types
        .iter()
        .map(|t| match t.as_str() {
            "array" => format!("array of {}", type_of(&schema["items"])),
            "string" => match schema["format"].as_str() {
                Some(format) => format!("string ({format})"),
                None => "string".into(),
            },
            "integer" | "number" => match schema["format"].as_str() {
                Some(format) => format!("{t} ({format})"),
                None => t.clone(),
            },
            "object" => match &schema["additionalProperties"] {
                Value::Object(values) if !values.is_empty() => {
                    format!("object of {}", type_of(&schema["additionalProperties"]))
                }
                _ => "object".into(),
            },
            other => other.into(),
        })
        .collect();
    if named.is_empty() {
        "any".into()
    } else {
        named.join(" or ")
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn yes_no(value: &Value) -> &'static str {
    if value == &Value::Bool(true) {
        "yes"
    } else {
        "no"
    }
}

/// Text fit for a table cell: one line, pipes escaped.
fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// GitHub's heading anchor: lower case, spaces to hyphens, other punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}
