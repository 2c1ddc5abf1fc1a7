fn main() -> std::process::ExitCode {
    alongside_events::runtime::main::<alongside_payments::Migrator, _, _>(
        alongside_payments::SERVICE,
        alongside_payments::DEFAULT_PORT,
        alongside_payments::start,
    )
}
