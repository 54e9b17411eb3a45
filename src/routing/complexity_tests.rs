use super::*;

const T: ComplexityThresholds = ComplexityThresholds {
    standard_at: 3,
    complex_at: 7,
};

fn plain() -> Shape {
    Shape::default()
}

#[test]
fn simple_prompts_are_simple() {
    for p in [
        "What is the capital of France?",
        "Translate 'good morning' into Spanish.",
        "Say hello.",
        "Give me a synonym for happy.",
    ] {
        assert_eq!(classify(p, plain(), T), Tier::Simple, "{p}");
    }
}

#[test]
fn complex_prompts_are_complex() {
    let code = "```rust\nfn main() { let x = 1; }\n```\n```rust\nfn f() {}\n```";
    let prompts = [
        format!("Prove that the sum ∑ 1/n^2 = π^2/6 and derive the rate of convergence step by step. Analyze the tradeoffs. {}", "x ".repeat(400)),
        format!("Refactor this code and optimize the algorithm; analyze its complexity and debug the crash:\n{code}"),
    ];
    for p in &prompts {
        assert_eq!(classify(p, plain(), T), Tier::Complex, "{p}");
    }
}

#[test]
fn middle_ground_is_standard_and_shape_counts() {
    let p = "Compare these two phone plans for me and tell me which is better.";
    assert_eq!(classify(p, plain(), T), Tier::Simple);
    let deep = Shape {
        tools: true,
        turns: 12,
    };
    assert_eq!(classify(p, deep, T), Tier::Standard);
}

#[test]
fn features_are_counted_once_per_pass() {
    let f = features("Why? How? What? ```a``` 3+4 = 7 \\frac PROVE");
    assert_eq!(f.questions, 3);
    assert_eq!(f.code_fences, 2);
    assert!(f.math_signs >= 3);
    assert_eq!(f.cues, 1);
}

#[test]
fn thresholds_are_applied_inclusively() {
    let t = ComplexityThresholds {
        standard_at: 1,
        complex_at: 2,
    };
    assert_eq!(tier(0, t), Tier::Simple);
    assert_eq!(tier(1, t), Tier::Standard);
    assert_eq!(tier(2, t), Tier::Complex);
}
