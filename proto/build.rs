//! Generates the contracts with a vendored protoc, so a fresh machine needs no system protoc.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded; prost-build reads PROTOC from the environment.
    unsafe { std::env::set_var("PROTOC", protoc) };

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let protos = [
        "alongside/common/v1/common.proto",
        "alongside/people/v1/people.proto",
        "alongside/people/events/v1/events.proto",
        "alongside/engagement/v1/engagement.proto",
        "alongside/engagement/events/v1/events.proto",
        "alongside/feedback/v1/feedback.proto",
        "alongside/feedback/events/v1/events.proto",
        "alongside/payments/v1/payments.proto",
        "alongside/payments/events/v1/events.proto",
    ];
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("alongside_descriptor.bin"))
        .compile_protos(&protos, &["."])?;
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    Ok(())
}
