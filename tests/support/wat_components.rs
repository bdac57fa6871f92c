//! Hand-written components that break the guest contract in one precise way,
//! for `check` and load-failure tests.

/// A component that exports nothing.
pub fn no_exports() -> Vec<u8> {
    wat::parse_str("(component)").expect("valid WAT")
}

/// A component importing our host interface at a WIT version no host serves.
pub fn wrong_wit_version() -> Vec<u8> {
    wat::parse_str(r#"(component (import "wasm-lambda:guest/host@0.9.0" (instance)))"#)
        .expect("valid WAT")
}

/// A component exporting our function interface at another WIT version.
pub fn wrong_export_version() -> Vec<u8> {
    wat::parse_str(
        r#"(component
             (instance $empty)
             (export "wasm-lambda:guest/function@9.0.0" (instance $empty)))"#,
    )
    .expect("valid WAT")
}

/// A component that imports something no host provides, beside an
/// otherwise-plausible export.
pub fn unknown_import() -> Vec<u8> {
    wat::parse_str(
        r#"(component
             (import "acme:secrets/vault@1.0.0" (instance))
             (instance $empty)
             (export "wasm-lambda:guest/function@0.1.0" (instance $empty)))"#,
    )
    .expect("valid WAT")
}

/// An HTTP guest built for Spin: it exports `wasi:http/incoming-handler`
/// and imports Spin's key-value store, which no other host provides.
pub fn spin_only_http_guest() -> Vec<u8> {
    wat::parse_str(
        r#"(component
             (import "fermyon:spin/key-value@2.0.0" (instance))
             (instance $empty)
             (export "wasi:http/incoming-handler@0.2.0" (instance $empty)))"#,
    )
    .expect("valid WAT")
}
