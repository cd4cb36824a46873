//! Answers in the shape the spec promises, whatever the node's dialect.
//!
//! Lotus is written in Go, and Go's JSON writes a nil slice as `null`, a nil map as `null` and a nil byte slice as
//! `null`: an empty list of messages arrives as `"BlsMessages": null`, a node without peers answers `null`. A REST
//! client reads the spec instead: a field it calls an array is always an array. So every JSON answer of a documented
//! operation is checked against the operation's response schema, once, in this middleware: where the schema says
//! array (and not nullable) a `null` becomes `[]`, where it says map a `null` becomes `{}`, where it says a byte
//! string (`format: byte`) a `null` becomes `""`. Fields the schema marks nullable keep their `null`.
//!
//! The shapes are compiled from the spec at start, per operation, keeping only the parts of a schema that can hold
//! something to rewrite; an answer without the bytes `null` in it is passed through untouched.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, Method};
use actix_web::web;
use serde_json::{Map, Value};

/// What may need rewriting in a value of one schema.
#[derive(Debug)]
enum Shape {
    /// An array that is never null: `null` is `[]`; its items are shaped by the inner shape, if any.
    Array(Option<Arc<Shape>>),
    /// A map that is never null: `null` is `{}`; its values are shaped by the inner shape, if any.
    Map(Option<Arc<Shape>>),
    /// A byte string that is never null: `null` is `""`.
    Bytes,
    /// An object some of whose fields need shaping.
    Object(Vec<(String, Arc<Shape>)>),
    /// A value that may be null; when it is not, it is shaped by the inner shape.
    Nullable(Arc<Shape>),
    /// One of several shapes: each applies where the value fits it (objects by their fields).
    Any(Vec<Arc<Shape>>),
    /// A component schema, looked up when applied (schemas may be recursive).
    Ref(String),
}

/// The shape of each component schema that has something to shape.
type Components = HashMap<String, Option<Arc<Shape>>>;

impl Shape {
    fn apply(&self, value: &mut Value, components: &Components, depth: usize) {
        // Deeper than any answer a node sends: nothing below is shaped (and no stack is at risk).
        if depth > MAX_DEPTH {
            return;
        }
        let depth = depth + 1;
        match (self, value) {
            (Shape::Nullable(_), Value::Null) => {}
            (Shape::Nullable(inner), v) => inner.apply(v, components, depth),
            (Shape::Array(_), v @ Value::Null) => *v = Value::Array(Vec::new()),
            (Shape::Array(Some(items)), Value::Array(a)) => {
                a.iter_mut().for_each(|v| items.apply(v, components, depth))
            }
            (Shape::Map(_), v @ Value::Null) => *v = Value::Object(Map::new()),
            (Shape::Map(Some(values)), Value::Object(m)) => m
                .values_mut()
                .for_each(|v| values.apply(v, components, depth)),
            (Shape::Bytes, v @ Value::Null) => *v = Value::String(String::new()),
            (Shape::Object(fields), Value::Object(m)) => {
                for (name, shape) in fields {
                    if let Some(v) = m.get_mut(name) {
                        shape.apply(v, components, depth);
                    }
                }
            }
            (Shape::Any(shapes), v) if !v.is_null() => {
                shapes.iter().for_each(|s| s.apply(v, components, depth))
            }
            (Shape::Ref(name), v) => {
                if let Some(Some(shape)) = components.get(name) {
                    shape.apply(v, components, depth);
                }
            }
            _ => {}
        }
    }
}

/// How deep into an answer shapes apply.
const MAX_DEPTH: usize = 256;

/// Compiles schemas (as JSON) into shapes, each component once.
struct Compiler<'a> {
    schemas: &'a Map<String, Value>,
    /// Each component's shape; `None` when it has nothing to shape.
    done: Components,
    /// The components being compiled now: a reference back to one of them is a recursive schema.
    open: std::collections::HashSet<String>,
}

impl Compiler<'_> {
    fn compile(&mut self, schema: &Value) -> Option<Arc<Shape>> {
        let obj = schema.as_object()?;
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            let name = r.strip_prefix("#/components/schemas/")?;
            if self.open.contains(name) {
                return Some(Arc::new(Shape::Ref(name.to_string())));
            }
            if let Some(done) = self.done.get(name) {
                return done
                    .as_ref()
                    .map(|_| Arc::new(Shape::Ref(name.to_string())));
            }
            self.open.insert(name.to_string());
            let shape = self
                .schemas
                .get(name)
                .and_then(|s| self.compile(&s.clone()));
            self.open.remove(name);
            let found = shape.is_some();
            self.done.insert(name.to_string(), shape);
            return found.then(|| Arc::new(Shape::Ref(name.to_string())));
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(alternatives) = obj.get(key).and_then(Value::as_array) {
                let nullable = alternatives.iter().any(is_null_schema);
                let shapes: Vec<Arc<Shape>> = alternatives
                    .iter()
                    .filter(|s| !is_null_schema(s))
                    .filter_map(|s| self.compile(s))
                    .collect();
                let inner = match shapes.len() {
                    0 => return None,
                    1 => shapes.into_iter().next()?,
                    _ => Arc::new(Shape::Any(shapes)),
                };
                return Some(if nullable {
                    Arc::new(Shape::Nullable(inner))
                } else {
                    inner
                });
            }
        }
        if let Some(parts) = obj.get("allOf").and_then(Value::as_array) {
            let shapes: Vec<Arc<Shape>> = parts.iter().filter_map(|s| self.compile(s)).collect();
            return (!shapes.is_empty()).then(|| Arc::new(Shape::Any(shapes)));
        }
        let (types, nullable) = match obj.get("type") {
            Some(Value::String(t)) => (vec![t.as_str()], false),
            Some(Value::Array(ts)) => {
                let ts: Vec<&str> = ts.iter().filter_map(Value::as_str).collect();
                let nullable = ts.contains(&"null");
                (ts.into_iter().filter(|t| *t != "null").collect(), nullable)
            }
            _ => (Vec::new(), false),
        };
        let shape = match types.as_slice() {
            ["array"] => {
                let items = obj.get("items").and_then(|i| self.compile(i));
                Some(Arc::new(Shape::Array(items)))
            }
            ["string"] if obj.get("format").and_then(Value::as_str) == Some("byte") => {
                Some(Arc::new(Shape::Bytes))
            }
            ["object"] | [] => self.object(obj),
            _ => None,
        }?;
        Some(if nullable {
            Arc::new(Shape::Nullable(shape))
        } else {
            shape
        })
    }

    fn object(&mut self, obj: &Map<String, Value>) -> Option<Arc<Shape>> {
        let properties = obj.get("properties").and_then(Value::as_object);
        let additional = obj.get("additionalProperties").filter(|a| a.is_object());
        match (properties, additional) {
            (Some(props), _) => {
                let fields: Vec<(String, Arc<Shape>)> = props
                    .iter()
                    .filter_map(|(name, s)| self.compile(s).map(|shape| (name.clone(), shape)))
                    .collect();
                (!fields.is_empty()).then(|| Arc::new(Shape::Object(fields)))
            }
            (None, Some(values)) => Some(Arc::new(Shape::Map(self.compile(values)))),
            (None, None) => None,
        }
    }
}

fn is_null_schema(s: &Value) -> bool {
    s.get("type").and_then(Value::as_str) == Some("null")
}

/// The response shape of each documented operation, by route pattern, method and status.
#[derive(Debug, Default)]
pub struct Shapes {
    operations: HashMap<(String, Method, u16), Arc<Shape>>,
    /// The route patterns with an operation to shape, looked up without making a key.
    patterns: std::collections::HashSet<String>,
    components: Components,
}

impl Shapes {
    pub fn from_spec(spec: &Value) -> Self {
        let empty = Map::new();
        let schemas = spec["components"]["schemas"].as_object().unwrap_or(&empty);
        let mut compiler = Compiler {
            schemas,
            done: HashMap::new(),
            open: Default::default(),
        };
        let mut shapes = HashMap::new();
        for (path, item) in spec["paths"].as_object().into_iter().flatten() {
            // JSON-RPC answers are the node's own, passed on as the node wrote them.
            if path.starts_with("/rpc/") {
                continue;
            }
            for (verb, op) in item.as_object().into_iter().flatten() {
                let Ok(method) = verb.to_uppercase().parse::<Method>() else {
                    continue;
                };
                for (status, response) in op["responses"].as_object().into_iter().flatten() {
                    let Ok(status) = status.parse::<u16>() else {
                        continue;
                    };
                    let schema = &response["content"]["application/json"]["schema"];
                    if !(200..300).contains(&status) || schema.is_null() {
                        continue;
                    }
                    if let Some(shape) = compiler.compile(schema) {
                        shapes.insert((path.clone(), method.clone(), status), shape);
                    }
                }
            }
        }
        Shapes::new(shapes, compiler.done)
    }

    /// The shapes of `operations`, with the set of their route patterns derived from them.
    fn new(operations: HashMap<(String, Method, u16), Arc<Shape>>, components: Components) -> Self {
        Shapes {
            patterns: operations.keys().map(|(p, _, _)| p.clone()).collect(),
            operations,
            components,
        }
    }

    /// Whether any answer of the route `pattern` has something to shape.
    pub fn shapes_route(&self, pattern: &str) -> bool {
        self.patterns.contains(pattern)
    }

    /// Rewrites `body` to the shape of the operation's answer; `None` when there is nothing to rewrite.
    pub fn conform(
        &self,
        pattern: &str,
        method: &Method,
        status: u16,
        body: &[u8],
    ) -> Option<Vec<u8>> {
        let shape = self
            .operations
            .get(&(pattern.to_string(), method.clone(), status))?;
        if !contains_null(body) {
            return None;
        }
        let mut value: Value = serde_json::from_slice(body).ok()?;
        shape.apply(&mut value, &self.components, 0);
        serde_json::to_vec(&value).ok()
    }

    /// How many operations have something to shape.
    pub fn len(&self) -> usize {
        self.operations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }
}

/// Shapes for the values of a kind of stream event, compiled from the Lotus type's own schema.
#[derive(Debug)]
pub struct ValueShape {
    shape: Option<Arc<Shape>>,
    components: Components,
}

impl ValueShape {
    /// The shape of values of type `T` (a Lotus type with its schema).
    pub fn of<T: utoipa::ToSchema>() -> Self {
        let mut schemas = Vec::new();
        T::schemas(&mut schemas);
        schemas.push((T::name().into_owned(), T::schema()));
        let components: Map<String, Value> = schemas
            .into_iter()
            .filter_map(|(name, schema)| Some((name, serde_json::to_value(schema).ok()?)))
            .collect();
        let mut compiler = Compiler {
            schemas: &components,
            done: HashMap::new(),
            open: Default::default(),
        };
        let shape = compiler.compile(&serde_json::json!({
            "$ref": format!("#/components/schemas/{}", T::name())
        }));
        ValueShape {
            shape,
            components: compiler.done,
        }
    }

    /// `text` in the shape of the type; `None` when nothing was rewritten.
    pub fn conform(&self, text: &str) -> Option<String> {
        let shape = self.shape.as_ref()?;
        if !contains_null(text.as_bytes()) {
            return None;
        }
        let mut value: Value = serde_json::from_str(text).ok()?;
        shape.apply(&mut value, &self.components, 0);
        serde_json::to_string(&value).ok()
    }
}

fn contains_null(body: &[u8]) -> bool {
    body.windows(4).any(|w| w == b"null")
}

/// Shapes every JSON answer of a documented operation as its schema says (see the module's documentation).
///
/// It runs once the request has been routed, so its pattern is known from the route taken; `/rpc/v1` and most routes
/// have nothing to shape, and pass with no key made.
pub async fn conform(
    res: ServiceResponse<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(shapes) = res.request().app_data::<web::Data<Shapes>>().cloned() else {
        return Ok(res);
    };
    let Some(pattern) =
        crate::metrics::route_of(res.request()).filter(|pattern| shapes.shapes_route(pattern))
    else {
        return Ok(res);
    };
    let method = res.request().method().clone();
    let status = res.status().as_u16();
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !json
        || !shapes
            .operations
            .contains_key(&(pattern.clone(), method.clone(), status))
    {
        return Ok(res);
    }
    let (req, res) = res.into_parts();
    let (mut head, body) = res.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|_| crate::error::ApiError::internal("cannot read the response body"))?;
    let body = match shapes.conform(&pattern, &method, status, &bytes) {
        Some(shaped) => {
            head.headers_mut().remove(header::CONTENT_LENGTH);
            BoxBody::new(shaped)
        }
        None => BoxBody::new(bytes),
    };
    Ok(ServiceResponse::new(req, head.set_body(body)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shapes(schema: Value, components: Value) -> Shapes {
        let mut compiler = Compiler {
            schemas: components.as_object().unwrap(),
            done: HashMap::new(),
            open: Default::default(),
        };
        let mut operations = HashMap::new();
        if let Some(shape) = compiler.compile(&schema) {
            operations.insert(("/x".to_string(), Method::GET, 200), shape);
        }
        Shapes::new(operations, compiler.done)
    }

    fn shaped(shapes: &Shapes, body: Value) -> Value {
        let bytes = serde_json::to_vec(&body).unwrap();
        match shapes.conform("/x", &Method::GET, 200, &bytes) {
            Some(b) => serde_json::from_slice(&b).unwrap(),
            None => body,
        }
    }

    #[test]
    fn go_nulls_become_what_the_schema_says() {
        let components = json!({
            "Msgs": {"type": "object", "properties": {
                "BlsMessages": {"type": "array", "items": {"$ref": "#/components/schemas/Msg"}},
                "Cids": {"type": ["array", "null"], "items": {"type": "string"}},
                "Ticket": {"oneOf": [{"$ref": "#/components/schemas/Ticket"}, {"type": "null"}]},
                "ByKey": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "integer"}}}
            }},
            "Msg": {"type": "object", "properties": {"Params": {"type": "string", "format": "byte"},
                "Nested": {"$ref": "#/components/schemas/Msg"}}},
            "Ticket": {"type": "object", "properties": {"VRFProof": {"type": "string", "format": "byte"}}}
        });
        let s = shapes(json!({"$ref": "#/components/schemas/Msgs"}), components);
        assert_eq!(
            shaped(
                &s,
                json!({"BlsMessages": null, "Cids": null, "Ticket": null, "ByKey": null})
            ),
            json!({"BlsMessages": [], "Cids": null, "Ticket": null, "ByKey": {}})
        );
        assert_eq!(
            shaped(
                &s,
                json!({"BlsMessages": [{"Params": null, "Nested": {"Params": null}}],
                    "Ticket": {"VRFProof": null}, "ByKey": {"a": null, "b": [1]}})
            ),
            json!({"BlsMessages": [{"Params": "", "Nested": {"Params": ""}}],
                "Ticket": {"VRFProof": ""}, "ByKey": {"a": [], "b": [1]}})
        );
    }

    #[test]
    fn a_tipset_from_a_go_node_is_shaped_by_its_own_schema() {
        let shape = ValueShape::of::<crate::lotus::types::TipSet>();
        let forest = r#"{"Cids":[{"/":"bafy"}],"Height":0,"Blocks":[{"WinPoStProof":null,"BeaconEntries":null,
            "Parents":null,"ElectionProof":{"VRFProof":null,"WinCount":0},"Ticket":null}]}"#;
        let shaped: Value = serde_json::from_str(&shape.conform(forest).unwrap()).unwrap();
        let block = &shaped["Blocks"][0];
        assert_eq!(block["WinPoStProof"], json!([]));
        assert_eq!(block["BeaconEntries"], json!([]));
        assert_eq!(block["ElectionProof"]["VRFProof"], json!(""));
        assert_eq!(
            block["Ticket"],
            Value::Null,
            "a nullable field keeps its null"
        );
    }

    #[test]
    fn a_top_level_null_list_is_an_empty_list_and_other_answers_pass_untouched() {
        let s = shapes(
            json!({"type": "array", "items": {"type": "string"}}),
            json!({}),
        );
        assert_eq!(shaped(&s, json!(null)), json!([]));
        let bytes = br#"["a","b"]"#;
        assert!(s.conform("/x", &Method::GET, 200, bytes).is_none());
        let none = shapes(json!({"type": "string"}), json!({}));
        assert!(
            none.is_empty(),
            "a schema with nothing to shape compiles to nothing"
        );
    }
}
