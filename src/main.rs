fn main() -> std::process::ExitCode {
    eligo::cli::main()
}
