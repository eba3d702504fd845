//! The diagnostics of `datamodel!`: one file per mistake in `tests/ui`, each with the compiler
//! output it must produce (`TRYBUILD=overwrite` regenerates the `.stderr` files).

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
