//! Compiles the gRPC protos with a vendored protoc, so a build needs no system protoc.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("baton_descriptor.bin"))
        .compile_with_config(
            config,
            &[
                "proto/baton/v1/cluster.proto",
                "proto/baton/v1/apps.proto",
                "proto/baton/v1/events.proto",
                "proto/baton/v1/groups.proto",
                "proto/baton/peer/raft.proto",
            ],
            &["proto"],
        )?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
