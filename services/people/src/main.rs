fn main() -> std::process::ExitCode {
    alongside_events::runtime::main::<alongside_people::Migrator, _, _>(
        alongside_people::SERVICE,
        alongside_people::DEFAULT_PORT,
        alongside_people::start,
    )
}
