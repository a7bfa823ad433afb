//! The README documents what the tool does: every finding kind and every subcommand is there,
//! and nothing that does not exist. On failure the test prints the kinds table to paste.

use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

#[test]
fn every_kind_is_in_the_readme() {
    let o = Command::new(env!("CARGO_BIN_EXE_ondisk")).args(["kinds", "--json"]).output().unwrap();
    let kinds: Vec<serde_json::Value> = String::from_utf8(o.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let text = readme();
    let missing: Vec<&serde_json::Value> = kinds.iter().filter(|k| !text.contains(&format!("`{}`", k["kind"].as_str().unwrap()))).collect();
    if !missing.is_empty() {
        eprintln!("| kind | severity | meaning |\n|---|---|---|");
        for k in &kinds {
            eprintln!("| `{}` | {} | {} |", k["kind"].as_str().unwrap(), k["severity"].as_str().unwrap(), k["meaning"].as_str().unwrap());
        }
    }
    assert!(missing.is_empty(), "kinds missing from README.md: {:?}", missing.iter().map(|k| &k["kind"]).collect::<Vec<_>>());
    // And no kind is documented that does not exist.
    let known: Vec<&str> = kinds.iter().map(|k| k["kind"].as_str().unwrap()).collect();
    for word in text.split('`').skip(1).step_by(2) {
        let is_kind = (word.starts_with("btrfs.") || word.starts_with("hammer.") || word.starts_with("bcachefs."))
            && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
        assert!(!is_kind || known.contains(&word), "README.md documents {word}, which `ondisk kinds` does not list");
    }
}

#[test]
fn every_subcommand_is_in_the_readme() {
    let o = Command::new(env!("CARGO_BIN_EXE_ondisk")).arg("--help").output().unwrap();
    let help = String::from_utf8(o.stdout).unwrap();
    let text = readme();
    let subs: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|s| *s != "help")
        .collect();
    assert!(subs.len() >= 6, "{help}");
    for s in subs {
        assert!(text.contains(&format!("`ondisk {s}")), "README.md does not show `ondisk {s}`");
    }
}
