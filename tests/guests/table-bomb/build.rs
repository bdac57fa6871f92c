//! Places the function table's entries at index 4,000,000, so the module
//! declares a table of over 4 million elements: more than the host allows a
//! guest (a table bomb at instantiation, which Rust cannot write by hand).
fn main() {
    println!("cargo:rustc-link-arg=--table-base=4000000");
}
