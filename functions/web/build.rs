//! Copies the built web app (`web/dist`, made by `bash scripts/build-web.sh`) to where the
//! embedding macro reads it. Without a build the server still builds and serves the API, and
//! `/` says how to build the app.

use std::path::{Path, PathBuf};
use std::{env, fs, io};

const PLACEHOLDER: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Fieldline</title></head><body><h1>Fieldline</h1><p>The web app is not built into this \
binary. Run <code>bash scripts/build-web.sh</code> (Node.js 20.19 or newer), then rebuild the \
server. The API is served under <code>/v1</code>.</p></body></html>";

fn main() -> io::Result<()> {
    // Relative to this package, so two checkouts sharing one target directory (CI's clone
    // beside a working copy) each watch their own build, not the first one's absolute path.
    println!("cargo:rerun-if-changed=../../web/dist");
    // Read when the script runs, not baked in when it was compiled: one compiled script may
    // serve several checkouts.
    let root = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dist = Path::new(&root).join("../../web/dist");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("web");
    if out.exists() {
        fs::remove_dir_all(&out)?;
    }
    fs::create_dir_all(&out)?;
    if dist.join("index.html").is_file() {
        copy_dir(&dist, &out)
    } else {
        println!(
            "cargo:warning=web/dist is not built: `/` serves a placeholder (bash scripts/build-web.sh)"
        );
        fs::write(out.join("index.html"), PLACEHOLDER)
    }
}

fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            fs::create_dir_all(&target)?;
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
