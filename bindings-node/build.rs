//! Emits the linker flags a Node addon needs (undefined N-API symbols are
//! resolved by the Node process that loads the `.node` file).
fn main() {
    napi_build::setup();
}
