fn main() -> std::process::ExitCode {
    alongside_events::runtime::main_with::<alongside_feedback::Migrator, _, _>(
        alongside_feedback::SERVICE,
        alongside_feedback::DEFAULT_PORT,
        alongside_feedback::start,
        Some(alongside_feedback::republish()),
    )
}
