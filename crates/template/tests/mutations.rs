//! Nothing a user writes can panic the loader: the repository's templates, mutated at random
//! (lines dropped, duplicated, swapped, cut short; YAML and intrinsic fragments spliced in), are
//! loaded and must give a model or diagnostics, never a panic. Deterministic (fixed seeds).

use std::path::{Path, PathBuf};

use stackgate_template::{LoadOptions, load_str};

/// xorshift64*: enough randomness for mutations, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const FRAGMENTS: &[&str] = &[
    "!Ref",
    "!Ref AWS::NoValue",
    "!GetAtt",
    "!GetAtt A.B.C",
    "!Sub '${",
    "!Sub ['${x}', {x: !Ref y}]",
    "!If [C, a, b]",
    "!Join ['', [a, !Ref b]]",
    "!Select [9, [a]]",
    "!Split [',', 1]",
    "!FindInMap [M, !Ref AWS::Region, k]",
    "!Equals",
    "!Base64",
    "!ImportValue x",
    "!GetAZs ''",
    "!Cidr [a, 1, 2]",
    "{Fn::If: [x]}",
    "{Ref: [1, 2]}",
    "{\"Fn::Sub\": {}}",
    "[",
    "]",
    "{",
    "}",
    ":",
    "- ",
    "? ",
    "&a",
    "*a",
    "<<: *a",
    "|",
    ">-",
    "'",
    "\"",
    "\t",
    "#",
    "---",
    "...",
    "~",
    "null",
    "-1",
    "1e400",
    "18446744073709551616",
    "0x",
    "$default",
    "ANY /{proxy+}",
    "GET /{a}/{a}",
    "é\u{0}\u{feff}",
    "Type: AWS::Serverless::Function",
    "Type: AWS::ApiGatewayV2::Route",
    "Transform: AWS::Serverless-2016-10-31",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for _ in 0..1 + rng.below(4) {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let i = rng.below(lines.len());
        match rng.below(7) {
            0 => {
                lines.remove(i);
            }
            1 => {
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            2 => {
                let j = rng.below(lines.len());
                lines.swap(i, j);
            }
            3 => {
                let cut = rng.below(lines[i].len() + 1);
                let cut = (0..=cut)
                    .rev()
                    .find(|&c| lines[i].is_char_boundary(c))
                    .unwrap_or(0);
                lines[i].truncate(cut);
            }
            4 => {
                let f = FRAGMENTS[rng.below(FRAGMENTS.len())];
                let at = lines[i].find(": ").map_or(lines[i].len(), |p| p + 2);
                lines[i].replace_range(at.., f);
            }
            5 => {
                let f = FRAGMENTS[rng.below(FRAGMENTS.len())];
                let indent = " ".repeat(rng.below(10));
                lines.insert(i, format!("{indent}{f}"));
            }
            _ => {
                let f = FRAGMENTS[rng.below(FRAGMENTS.len())];
                let at = (0..=rng.below(lines[i].len() + 1).min(lines[i].len()))
                    .rev()
                    .find(|&c| lines[i].is_char_boundary(c))
                    .unwrap_or(0);
                lines[i].insert_str(at, f);
            }
        }
    }
    if rng.below(10) == 0 {
        let all = lines.join("\n");
        let cut = rng.below(all.len() + 1);
        let cut = (0..=cut)
            .rev()
            .find(|&c| all.is_char_boundary(c))
            .unwrap_or(0);
        return all[..cut].to_owned();
    }
    lines.join("\n")
}

fn templates() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    [
        "examples/auth0-http-api/template.yaml",
        "examples/sam-http-api/template.yaml",
        "bench/stack/template.yaml",
        "crates/cli/tests/fixtures/two-apis.yaml",
        "crates/cli/tests/fixtures/async-retries.yaml",
        "crates/cli/tests/fixtures/jwt-attacks.yaml",
        "crates/cli/tests/fixtures/stack/template.yaml",
    ]
    .iter()
    .map(|p| root.join(p))
    .filter(|p| p.exists())
    .collect()
}

#[test]
fn mutated_templates_never_panic() {
    let rounds: usize = std::env::var("STACKGATE_MUTATION_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let options = LoadOptions::default();
    let files = templates();
    assert!(files.len() >= 5, "{files:?}");
    for (n, file) in files.iter().enumerate() {
        let text = std::fs::read_to_string(file).expect("template readable");
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (n as u64 + 1));
        for round in 0..rounds {
            let mutated = mutate(&text, &mut rng);
            let outcome = std::panic::catch_unwind(|| load_str(&mutated, file, &options));
            assert!(
                outcome.is_ok(),
                "{} round {round}: the loader panicked on:\n{mutated}",
                file.display()
            );
        }
    }
}
