//! scikit-learn models and the ai.onnx.ml operators: the coverage matrix's
//! claimed models (models/coverage, from models/coverage.py) and the
//! single-operator models (models/operators, from models/operators.py)
//! answer what onnxruntime answered on the stored inputs; a zipmap export is
//! served with its probabilities as a tensor; an operator we do not run is
//! refused by name; any rows, batched or not, give the same answers; and
//! damaged attributes are refused at load, never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use prost::Message;
use serde_json::Value;
use tract_onnx::pb::{AttributeProto, ModelProto, NodeProto};
use wasm_lambda_host::models::onnx_model::{Dim, OnnxModel};
use wasm_lambda_host::models::tensor_json::{tensor_from_json, tensor_to_json};
use wasm_lambda_tests::{GuestFolder, workspace_root};

const HOST: &str = env!("CARGO_BIN_EXE_wasm-lambda-host");

fn folder(name: &str) -> PathBuf {
    workspace_root().join("models").join(name)
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn load(path: &Path) -> OnnxModel {
    let bytes = std::fs::read(path).unwrap();
    OnnxModel::load(&bytes, &Default::default())
        .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()))
}

/// Runs `model` on the reference's inputs; answers outputs as JSON.
fn run_json(model: &OnnxModel, inputs: &Value) -> Result<serde_json::Map<String, Value>, String> {
    let inputs = inputs
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, nested)| {
            let signature = model.inputs.iter().find(|s| s.name == *name).unwrap();
            (
                name.clone(),
                tensor_from_json(nested, signature.datum_type).unwrap(),
            )
        })
        .collect();
    let outputs = model.run(inputs).map_err(|e| e.to_string())?;
    Ok(outputs
        .iter()
        .map(|(name, tensor)| (name.clone(), tensor_to_json(tensor).unwrap()))
        .collect())
}

/// `|got - want| <= atol + rtol * |want|`; integers and labels exactly;
/// `null` (NaN) only where onnxruntime answered NaN.
fn assert_matches(what: &str, got: &Value, want: &Value, rtol: f64, atol: f64) {
    match (got, want) {
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "{what}: lengths {got} vs {want}");
            for (g, w) in g.iter().zip(w) {
                assert_matches(what, g, w, rtol, atol);
            }
        }
        (Value::Number(g), Value::Number(w)) if w.is_i64() && g.is_i64() => {
            assert_eq!(g, w, "{what}")
        }
        (Value::Number(g), Value::Number(w)) => {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            assert!(
                (g - w).abs() <= atol + rtol * w.abs(),
                "{what}: {g} vs onnxruntime {w}"
            );
        }
        (Value::Null, Value::Null) => {}
        (Value::String(g), Value::String(w)) => assert_eq!(g, w, "{what}"),
        _ => panic!("{what}: {got} vs onnxruntime {want}"),
    }
}

/// Every stored reference in `folder` (NAME.onnx + NAME.reference.json).
fn references(folder: &Path) -> Vec<(String, PathBuf, Value)> {
    let mut found: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .filter_map(|entry| {
            let path = entry.unwrap().path();
            let name = path
                .file_name()?
                .to_str()?
                .strip_suffix(".reference.json")?;
            let model = folder.join(format!("{name}.onnx"));
            Some((name.to_owned(), model, read_json(&path)))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

fn check_reference(name: &str, model: &Path, reference: &Value, rtol: f64, atol: f64) {
    let model = load(model);
    let got = run_json(&model, &reference["inputs"]).unwrap_or_else(|e| panic!("{name}: {e}"));
    let want = reference["outputs"].as_object().unwrap();
    assert_eq!(got.len(), want.len(), "{name}: every output comes back");
    for (output, expected) in want {
        let answered = got
            .get(output)
            .unwrap_or_else(|| panic!("{name}: no output {output}"));
        assert_matches(&format!("{name}.{output}"), answered, expected, rtol, atol);
    }
}

#[test]
fn every_single_operator_model_matches_onnxruntime() {
    let cases = references(&folder("operators"));
    assert!(cases.len() >= 40, "{} operator cases", cases.len());
    for (name, model, reference) in &cases {
        check_reference(name, model, reference, 1e-5, 1e-6);
    }
    // Every operator the host claims is among them.
    let names: String = cases
        .iter()
        .map(|c| c.0.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    for operator in [
        "linear_classifier",
        "linear_regressor",
        "normalizer",
        "scaler",
        "imputer",
        "binarizer",
        "one_hot_encoder",
        "label_encoder",
        "feature_vectorizer",
        "array_feature_extractor",
        "svm_classifier",
        "svm_regressor",
        "zipmap",
    ] {
        assert!(names.contains(operator), "no case for {operator}");
    }
}

#[test]
fn the_coverage_matrix_claims_only_what_matches_and_the_docs_show_it() {
    let matrix = read_json(&folder("coverage").join("matrix.json"));
    let (rtol, atol) = (
        matrix["rtol"].as_f64().unwrap(),
        matrix["atol"].as_f64().unwrap(),
    );
    let cases = matrix["cases"].as_array().unwrap();
    let claimed: Vec<&Value> = cases.iter().filter(|c| c["matches"] == true).collect();
    assert!(claimed.len() >= 30, "{} claimed estimators", claimed.len());
    for case in &claimed {
        let file = case["file"].as_str().unwrap();
        let model = folder("coverage").join(format!("{file}.onnx"));
        let reference = read_json(&folder("coverage").join(format!("{file}.reference.json")));
        check_reference(
            case["estimator"].as_str().unwrap(),
            &model,
            &reference,
            rtol,
            atol,
        );
    }
    // No model is committed that the matrix does not claim.
    let committed = references(&folder("coverage")).len();
    assert_eq!(committed, claimed.len(), "stale files in models/coverage");
    let page = std::fs::read_to_string(workspace_root().join("docs/models.md")).unwrap();
    let summary = format!("{} of {} run and match", claimed.len(), cases.len());
    assert!(
        page.contains(&summary),
        "docs/models.md's coverage table is out of date (want \"{summary}\"); run models/coverage.py"
    );
    for case in cases {
        let row = format!("| {} |", case["estimator"].as_str().unwrap());
        assert!(page.contains(&row), "docs/models.md lacks the row {row}");
    }
}

#[test]
fn a_zipmap_export_is_served_with_probabilities_as_a_tensor() {
    let model = load(&folder("operators").join("zipmap_forest.onnx"));
    let probabilities = model
        .outputs
        .iter()
        .find(|o| o.name == "output_probability")
        .unwrap();
    assert_eq!(
        probabilities.describe(),
        "output_probability: float32[N, 2]"
    );
}

#[test]
fn an_operator_the_host_does_not_run_is_refused_by_name() {
    let path = folder("operators").join("unsupported_op.onnx");
    let bytes = std::fs::read(&path).unwrap();
    let error = format!(
        "{:#}",
        OnnxModel::load(&bytes, &Default::default()).err().unwrap()
    );
    for needle in [
        "node `a_dict_vectorizer`",
        "ai.onnx.ml operator `DictVectorizer`",
        "supported ai.onnx.ml operators: ArrayFeatureExtractor, Binarizer,",
        "SVMClassifier",
    ] {
        assert!(error.contains(needle), "{needle:?} not in: {error}");
    }
    // `models DIR` shows the same reason beside the models that load.
    let deployment = GuestFolder::new("ml-unsupported")
        .with_model("seed_forest", "forest")
        .with_model_file("dict_vectorizer.onnx", &bytes);
    let listed = Command::new(HOST)
        .args(["models"])
        .arg(deployment.models())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(!listed.status.success(), "a model failed to load: {stdout}");
    assert!(stdout.contains("forest (loaded in"), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("dict_vectorizer: failed to load: "))
        .unwrap_or_else(|| panic!("dict_vectorizer not reported: {stdout}"));
    assert!(
        line.contains("node `a_dict_vectorizer` uses the ai.onnx.ml operator `DictVectorizer`"),
        "{line}"
    );
}

#[test]
fn a_nan_for_the_binarizer_is_an_error_and_the_model_keeps_serving() {
    let model = load(&folder("operators").join("binarizer.onnx"));
    let nan = serde_json::json!({"input": [[0.5, null, 0.0, 1.0]]});
    let error = run_json(&model, &nan).unwrap_err();
    assert!(error.contains("index 1 is NaN"), "{error}");
    let fine = run_json(
        &model,
        &serde_json::json!({"input": [[0.5, -1.0, 0.25, 1.0]]}),
    )
    .unwrap();
    assert_eq!(fine["binary"], serde_json::json!([[1.0, 0.0, 0.0, 1.0]]));
}

/// Models whose only input is float `[N, F]`, with F.
fn row_models() -> Vec<(String, OnnxModel, usize)> {
    ["coverage", "operators"]
        .iter()
        .flat_map(|dir| references(&folder(dir)))
        .filter_map(|(name, path, _)| {
            let model = load(&path);
            let [input] = model.inputs.as_slice() else {
                return None;
            };
            let width = match input.shape.as_slice() {
                [_, Dim::Fixed(f)] => *f,
                _ => return None,
            };
            (input.element_type() == "float32").then_some((name, model, width))
        })
        .collect()
}

fn shared_row_models() -> &'static [(String, OnnxModel, usize)] {
    static MODELS: std::sync::OnceLock<Vec<(String, OnnxModel, usize)>> =
        std::sync::OnceLock::new();
    MODELS.get_or_init(row_models)
}

fn value() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        8 => (-1e3f64..1e3).prop_map(Some),
        1 => Just(Some(0.0)),
        1 => Just(None), // NaN
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(24)
    ))]

    /// Any rows (NaN included): never a panic, and a batch answers what its
    /// rows answer one by one (or both fail).
    #[test]
    fn any_rows_batched_or_alone_give_the_same_answer(
        values in prop::collection::vec(value(), 3 * 64),
    ) {
        for (name, model, width) in shared_row_models() {
            let rows: Vec<Value> = values
                .chunks(*width)
                .take(3)
                .filter(|chunk| chunk.len() == *width)
                .map(|chunk| Value::from(chunk.iter().map(|v| v.map_or(Value::Null, Value::from)).collect::<Vec<_>>()))
                .collect();
            let input = &model.inputs[0].name;
            let batch = run_json(model, &serde_json::json!({ input: rows }));
            let single: Vec<_> = rows
                .iter()
                .map(|row| run_json(model, &serde_json::json!({ input: [row] })))
                .collect();
            match batch {
                Err(_) => prop_assert!(single.iter().any(Result::is_err), "{name}: only the batch failed"),
                Ok(batch) => {
                    for (i, one) in single.iter().enumerate() {
                        let one = one.as_ref().map_err(|e| TestCaseError::fail(format!("{name}: row {i} alone: {e}")))?;
                        for (output, values) in one {
                            // Kernels may sum in another order for another batch size.
                            assert_matches(&format!("{name}.{output} row {i}"), &batch[output][i], &values[0], 1e-5, 1e-6);
                        }
                    }
                }
            }
        }
    }
}

/// An operator model decoded, for damaging its attributes.
fn operator_proto(name: &str) -> ModelProto {
    let bytes = std::fs::read(folder("operators").join(format!("{name}.onnx"))).unwrap();
    ModelProto::decode(bytes.as_slice()).unwrap()
}

/// Operators of ours outside the ai.onnx.ml domain (default, com.microsoft).
const OUR_DEFAULT_DOMAIN_OPS: &[&str] = &["TfIdfVectorizer", "StringNormalizer", "Tokenizer"];

/// Whether `node` runs one of our operators (those the damage tests target).
fn is_ours(node: &NodeProto) -> bool {
    node.domain == "ai.onnx.ml" || OUR_DEFAULT_DOMAIN_OPS.contains(&node.op_type.as_str())
}

fn ml_node(model: &mut ModelProto) -> &mut NodeProto {
    let graph = model.graph.as_mut().unwrap();
    graph.node.iter_mut().find(|n| is_ours(n)).unwrap()
}

fn attribute<'m>(node: &'m mut NodeProto, name: &str) -> &'m mut AttributeProto {
    node.attribute
        .iter_mut()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no attribute {name}"))
}

fn load_error(model: &ModelProto) -> String {
    match OnnxModel::load(&model.encode_to_vec(), &Default::default()) {
        Ok(_) => panic!("a damaged model loaded"),
        Err(error) => format!("{error:#}"),
    }
}

#[test]
fn damaged_attributes_are_refused_at_load_with_the_reason() {
    // A per-column table shorter than the input's columns.
    let mut scaler = operator_proto("scaler_per_column");
    attribute(ml_node(&mut scaler), "offset").floats.truncate(2);
    let error = load_error(&scaler);
    assert!(error.contains("Scaler: offset has 2 values for"), "{error}");

    let mut imputer = operator_proto("imputer_nan_per_column");
    attribute(ml_node(&mut imputer), "imputed_value_floats")
        .floats
        .push(1.0);
    let error = load_error(&imputer);
    assert!(error.contains("imputed_value_floats has"), "{error}");

    // Coefficients for another number of features.
    let mut linear = operator_proto("linear_classifier_three_classes_softmax");
    let coefficients = &mut attribute(ml_node(&mut linear), "coefficients").floats;
    coefficients.truncate(coefficients.len() - 3);
    let error = load_error(&linear);
    assert!(error.contains("LinearClassifier: the input has"), "{error}");

    let mut regressor = operator_proto("linear_regressor_2_targets");
    attribute(ml_node(&mut regressor), "targets").i = -2;
    let error = load_error(&regressor);
    assert!(
        error.contains("targets must be in 1..=65536, got -2"),
        "{error}"
    );

    // A negative and a huge support vector count.
    for (count, shown) in [(-1, "-1"), (1 << 40, "1099511627776")] {
        let mut svm = operator_proto("svm_classifier_rbf_3_classes_softmax");
        attribute(ml_node(&mut svm), "vectors_per_class").ints[0] = count;
        let error = load_error(&svm);
        assert!(
            error.contains(&format!(
                "vectors_per_class must be in 0..=16777216, got {shown}"
            )),
            "{error}"
        );
    }

    // Support vectors that do not divide into the count.
    let mut svr = operator_proto("svm_regressor_one_class_poly");
    attribute(ml_node(&mut svr), "support_vectors").floats.pop();
    let error = load_error(&svr);
    assert!(error.contains("support vector values for"), "{error}");

    // A huge width for the feature vectorizer.
    let mut vectorizer = operator_proto("feature_vectorizer_pad_and_cut");
    attribute(ml_node(&mut vectorizer), "inputdimensions").ints[0] = i64::MAX;
    let error = load_error(&vectorizer);
    assert!(
        error.contains("inputdimensions must give one width"),
        "{error}"
    );

    // A negative constant index for the array feature extractor.
    let mut extractor = operator_proto("array_feature_extractor_vector_index");
    let graph = extractor.graph.as_mut().unwrap();
    let indices = graph
        .initializer
        .iter_mut()
        .find(|t| {
            graph
                .node
                .iter()
                .any(|n| n.op_type == "ArrayFeatureExtractor" && n.input.get(1) == Some(&t.name))
        })
        .unwrap();
    indices.raw_data.clear();
    indices.int64_data = vec![0, -1];
    indices.dims = vec![2];
    let error = load_error(&extractor);
    assert!(
        error.contains("ArrayFeatureExtractor: index -1 is out of range"),
        "{error}"
    );

    // Tree ensembles: a node pointing at a node that does not exist.
    let mut forest = operator_proto("zipmap_forest");
    let tree = graph_node(&mut forest, "TreeEnsembleClassifier");
    let true_ids = &mut attribute(tree, "nodes_truenodeids").ints;
    true_ids[0] = 1 << 40;
    let error = load_error(&forest);
    assert!(error.contains("missing node"), "{error}");

    // TreeEnsemble (opset 5): a child past the nodes, a root past them, a
    // node that is its own child (a loop), a member node without a set.
    let damaged_v5 = |damage: &dyn Fn(&mut NodeProto)| {
        let mut model = operator_proto("tree_ensemble_sum");
        damage(ml_node(&mut model));
        load_error(&model)
    };
    let error = damaged_v5(&|node| {
        let leafs = attribute(node, "nodes_trueleafs").ints.clone();
        let first_branch_child = leafs.iter().position(|l| *l == 0).unwrap();
        attribute(node, "nodes_truenodeids").ints[first_branch_child] = 1 << 40;
    });
    assert!(
        error.contains("nodes_truenodeids names node 1099511627776; there are"),
        "{error}"
    );
    let error = damaged_v5(&|node| attribute(node, "tree_roots").ints[0] = -3);
    assert!(error.contains("tree_roots names node -3"), "{error}");
    let error = damaged_v5(&|node| {
        attribute(node, "nodes_trueleafs").ints[0] = 0;
        attribute(node, "nodes_truenodeids").ints[0] = 0;
    });
    assert!(error.contains("node references loop"), "{error}");
    let mut membership = operator_proto("tree_ensemble_set_membership");
    let members = attribute(ml_node(&mut membership), "membership_values");
    let members = members.t.as_mut().unwrap();
    members.float_data.truncate(5);
    members.dims = vec![5];
    let error = load_error(&membership);
    assert!(
        error.contains("BRANCH_MEMBER node 2 has no set in membership_values"),
        "{error}"
    );

    // TfIdfVectorizer: a pool that does not divide into bigrams, a repeated
    // n-gram, a negative output index, a gram length past ngram_counts.
    let damaged_tfidf = |damage: &dyn Fn(&mut NodeProto)| {
        let mut model = operator_proto("tfidf_vectorizer_strings_tf_skip0");
        damage(ml_node(&mut model));
        load_error(&model)
    };
    let error = damaged_tfidf(&|node| {
        attribute(node, "pool_strings").strings.pop();
    });
    assert!(error.contains("do not make whole 2-grams"), "{error}");
    let error = damaged_tfidf(&|node| {
        let pool = &mut attribute(node, "pool_strings").strings;
        pool[1] = pool[0].clone();
    });
    assert!(
        error.contains("a 1-gram appears twice in the pool"),
        "{error}"
    );
    let error = damaged_tfidf(&|node| attribute(node, "ngram_indexes").ints[0] = -1);
    assert!(error.contains("ngram_indexes must be in 0.."), "{error}");
    let error = damaged_tfidf(&|node| attribute(node, "max_gram_length").i = 3);
    assert!(
        error.contains("gram lengths 1..=3 must be within 1..=2"),
        "{error}"
    );

    // Tokenizer: a token expression that is not one, no minimum length.
    let mut tokenizer = operator_proto("tokenizer_token_expression");
    attribute(ml_node(&mut tokenizer), "tokenexp").s = b"[a-z".to_vec();
    let error = load_error(&tokenizer);
    assert!(
        error.contains("tokenexp `[a-z` is not a regular expression"),
        "{error}"
    );
    let mut tokenizer = operator_proto("tokenizer_token_expression");
    attribute(ml_node(&mut tokenizer), "mincharnum").i = 0;
    let error = load_error(&tokenizer);
    assert!(error.contains("mincharnum must be positive"), "{error}");
}

fn graph_node<'m>(model: &'m mut ModelProto, op_type: &str) -> &'m mut NodeProto {
    let graph = model.graph.as_mut().unwrap();
    graph
        .node
        .iter_mut()
        .find(|n| n.op_type == op_type)
        .unwrap_or_else(|| panic!("no {op_type} node"))
}

/// The single-operator models with their stored inputs, decoded once.
fn operator_protos() -> &'static [(String, ModelProto, Value)] {
    static PROTOS: std::sync::OnceLock<Vec<(String, ModelProto, Value)>> =
        std::sync::OnceLock::new();
    PROTOS.get_or_init(|| {
        references(&folder("operators"))
            .into_iter()
            .map(|(name, _, reference)| {
                let proto = operator_proto(&name);
                (name, proto, reference["inputs"].clone())
            })
            .collect()
    })
}

/// One damage to one attribute of one ai.onnx.ml node.
#[derive(Debug, Clone)]
enum Damage {
    /// Keep only this fraction (in 256ths) of a list.
    Truncate(u8),
    /// Append values to a list.
    Extend(Vec<i64>),
    /// Set one integer (or one element of a list) to this.
    SetInt(prop::sample::Index, i64),
    /// Set one float (or one element of a list) to this.
    SetFloat(prop::sample::Index, f32),
    Remove,
}

fn damage() -> impl Strategy<Value = Damage> {
    let int = prop_oneof![
        Just(-1i64),
        Just(0),
        Just(1 << 40),
        Just(i64::MAX),
        Just(i64::MIN),
        -4i64..64,
    ];
    let float = prop_oneof![
        Just(f32::NAN),
        Just(f32::INFINITY),
        Just(-1e30f32),
        Just(0.0),
        -10f32..10.0,
    ];
    prop_oneof![
        any::<u8>().prop_map(Damage::Truncate),
        prop::collection::vec(int.clone(), 1..4).prop_map(Damage::Extend),
        (any::<prop::sample::Index>(), int).prop_map(|(at, v)| Damage::SetInt(at, v)),
        (any::<prop::sample::Index>(), float).prop_map(|(at, v)| Damage::SetFloat(at, v)),
        Just(Damage::Remove),
    ]
}

fn apply(node: &mut NodeProto, which: prop::sample::Index, damage: &Damage) {
    if node.attribute.is_empty() {
        return;
    }
    let index = which.index(node.attribute.len());
    let attribute = &mut node.attribute[index];
    match damage {
        Damage::Truncate(part) => {
            let keep = |len: usize| len * usize::from(*part) / 256;
            attribute.ints.truncate(keep(attribute.ints.len()));
            attribute.floats.truncate(keep(attribute.floats.len()));
            attribute.strings.truncate(keep(attribute.strings.len()));
        }
        Damage::Extend(values) => {
            if !attribute.floats.is_empty() {
                attribute.floats.extend(values.iter().map(|v| *v as f32));
            } else if !attribute.strings.is_empty() {
                attribute
                    .strings
                    .extend(values.iter().map(|v| v.to_string().into_bytes()));
            } else {
                attribute.ints.extend(values);
            }
        }
        Damage::SetInt(at, value) => match attribute.ints.len() {
            0 => attribute.i = *value,
            n => attribute.ints[at.index(n)] = *value,
        },
        Damage::SetFloat(at, value) => match attribute.floats.len() {
            0 => attribute.f = *value,
            n => attribute.floats[at.index(n)] = *value,
        },
        Damage::Remove => {
            node.attribute.remove(index);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256)
    ))]

    /// Any single-operator model with damaged ai.onnx.ml attributes (lists
    /// cut or grown, negative or huge counts and indices, NaN or infinite
    /// values, attributes removed) is refused at load with an error, or
    /// loads and answers its stored inputs with values or an error: never a
    /// panic.
    #[test]
    fn damaged_operator_attributes_never_panic(
        model in any::<prop::sample::Index>(),
        damages in prop::collection::vec((any::<prop::sample::Index>(), damage()), 1..4),
    ) {
        let (name, proto, inputs) = model.get(operator_protos());
        let mut proto = proto.clone();
        let graph = proto.graph.as_mut().unwrap();
        let ml_nodes: Vec<usize> = (0..graph.node.len()).filter(|&i| is_ours(&graph.node[i])).collect();
        for (which, damage) in &damages {
            let node = &mut graph.node[ml_nodes[which.index(ml_nodes.len())]];
            apply(node, *which, damage);
        }
        let Ok(model) = OnnxModel::load(&proto.encode_to_vec(), &Default::default()) else {
            return Ok(());
        };
        let Some(tensors) = inputs.as_object().unwrap().iter().map(|(input, nested)| {
            let signature = model.inputs.iter().find(|s| s.name == *input)?;
            Some((input.clone(), tensor_from_json(nested, signature.datum_type).ok()?))
        }).collect::<Option<Vec<_>>>() else {
            return Ok(());
        };
        if let Ok(outputs) = model.run(tensors) {
            for (output, tensor) in &outputs {
                prop_assert!(tensor_to_json(tensor).is_ok(), "{name}: output {output} is not JSON");
            }
        }
    }
}
