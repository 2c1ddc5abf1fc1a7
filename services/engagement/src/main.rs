fn main() -> std::process::ExitCode {
    alongside_events::runtime::main::<alongside_engagement::Migrator, _, _>(
        alongside_engagement::SERVICE,
        alongside_engagement::DEFAULT_PORT,
        alongside_engagement::start,
    )
}
