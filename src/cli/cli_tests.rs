use super::*;

fn parse(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("tollgate").chain(args.iter().copied())).unwrap()
}

#[test]
fn pingora_flags_keep_their_meaning() {
    let cli = parse(&["-u", "-d", "-c", "x.yaml"]);
    assert!(cli.upgrade && cli.daemon && !cli.is_check());
    assert_eq!(cli.config_path(), PathBuf::from("x.yaml"));
    assert_eq!(cli.command, None);
    let opt = cli.pingora_opt();
    assert!(opt.upgrade && opt.daemon && !opt.test && opt.conf.is_none());
    assert!(parse(&["-t", "-c", "x.yaml"]).is_check());
}

#[test]
fn check_subcommand_is_dash_t_and_flags_go_either_side() {
    assert!(parse(&["check", "-c", "a.yaml"]).is_check());
    let cli = parse(&["-c", "a.yaml", "check"]);
    assert!(cli.is_check());
    assert_eq!(cli.config_path(), PathBuf::from("a.yaml"));
}

#[test]
fn keys_new_and_upgrade_parse() {
    assert_eq!(
        parse(&["keys", "new", "--name", "ci"]).command,
        Some(Command::Keys(KeysCommand::New {
            name: Some("ci".into())
        }))
    );
    assert_eq!(
        parse(&["upgrade", "-c", "f", "--old-pid", "42"]).command,
        Some(Command::Upgrade {
            old_pid: Some(42),
            wait: None
        })
    );
}

#[test]
fn unknown_flags_are_refused() {
    assert!(Cli::try_parse_from(["tollgate", "--bogus"]).is_err());
    assert!(Cli::try_parse_from(["tollgate", "keys", "delete"]).is_err());
}

#[test]
fn version_names_commit_and_pingora() {
    assert!(LONG_VERSION.starts_with(env!("CARGO_PKG_VERSION")));
    assert!(LONG_VERSION.contains("commit "));
    assert!(LONG_VERSION.contains(&format!("pingora {}", env!("TOLLGATE_PINGORA_VERSION"))));
    assert!(env!("TOLLGATE_PINGORA_VERSION").starts_with("0.9"));
}
