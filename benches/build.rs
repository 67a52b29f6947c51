//! Compiles the tiny fake CLI of items 1, 2 and 5 (`tiny-cli/tiny_cli.c`)
//! with the C compiler Rust links with: freestanding (no C library) on x86_64
//! and aarch64, else with the C library statically, else dynamically; and,
//! beside a freestanding one, the same program on the C library
//! (`TINY_CLI_LIBC`, for a report row). The bench finds it through `env!("TINY_CLI")`; when no C
//! compiler works, `TINY_CLI` is empty and the bench uses fake-claude instead
//! (and says so).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = PathBuf::from("tiny-cli/tiny_cli.c");
    println!("cargo:rerun-if-changed={}", src.display());
    let target = std::env::var("TARGET").unwrap_or_default();
    let target_cc = format!("CC_{}", target.replace('-', "_"));
    for v in [target_cc.as_str(), "TARGET_CC", "CC"] {
        println!("cargo:rerun-if-env-changed={v}");
    }
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    // The C compiler for the target, as the `cc` crate looks for it.
    let cc = [target_cc.as_str(), "TARGET_CC", "CC"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "cc".into());
    let compile = |out: &PathBuf, flags: &[&str]| {
        Command::new(&cc)
            .args(["-O2", "-o"])
            .arg(out)
            .args(flags)
            .arg(&src)
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    // Freestanding (no C library: no C-library start-up in every run), else
    // the C library linked statically, else dynamically.
    const FREESTANDING: &[&str] = &[
        "-DTINY_NOLIBC",
        "-static",
        "-nostdlib",
        "-ffreestanding",
        "-fno-builtin",
        "-fno-stack-protector",
        "-fno-pie",
        "-no-pie",
    ];
    let builds: [(&str, &[&str]); 3] = [
        ("freestanding", FREESTANDING),
        ("static", &["-static"]),
        ("dynamic", &[]),
    ];
    let out = out_dir.join("tiny-cli");
    let built = builds
        .iter()
        .find(|(_, flags)| compile(&out, flags))
        .map(|(how, _)| *how)
        .unwrap_or("");
    if built.is_empty() {
        println!(
            "cargo:warning=could not compile {} with {cc}: the bench will use fake-claude",
            src.display()
        );
        println!("cargo:rustc-env=TINY_CLI=");
    } else {
        println!("cargo:rustc-env=TINY_CLI={}", out.display());
    }
    println!("cargo:rustc-env=TINY_CLI_LINK={built}");
    // The same program on the C library, for the report row that shows what
    // the C-library start-up does to item 1's ratio.
    let libc_out = out_dir.join("tiny-cli-libc");
    let libc_built =
        built == "freestanding" && builds[1..].iter().any(|(_, f)| compile(&libc_out, f));
    let libc_path = if libc_built {
        libc_out.display().to_string()
    } else {
        String::new()
    };
    println!("cargo:rustc-env=TINY_CLI_LIBC={libc_path}");
}
