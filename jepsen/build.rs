//! Compiles baton's public gRPC API (`proto/baton/v1`, clients only) with a vendored protoc: the
//! harness knows baton only through that API, so it builds whatever state baton's code is in.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure()
        .build_server(false)
        .compile_with_config(
            config,
            &[
                "../proto/baton/v1/cluster.proto",
                "../proto/baton/v1/apps.proto",
            ],
            &["../proto"],
        )?;
    println!("cargo:rerun-if-changed=../proto/baton/v1");
    Ok(())
}
