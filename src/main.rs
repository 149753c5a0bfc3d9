//! The `hindsight` executable: everything lives in the library (see `hindsight::run`).

fn main() -> std::process::ExitCode {
    hindsight::run()
}
