//! Route patterns: literal text where `*` stands for any run of characters.

/// A compiled route pattern such as `/api/orders/*` or `arn:aws:sqs:*:*:orders`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
}

impl Pattern {
    /// Compiles a pattern.
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
        }
    }

    /// How specific the pattern is: literal patterns before wildcards, then
    /// more literal characters first. Routers try specific patterns first.
    pub fn specificity(&self) -> (bool, usize) {
        (
            !self.text.contains('*'),
            self.text.chars().filter(|c| *c != '*').count(),
        )
    }

    /// Whether `candidate` matches the whole pattern.
    pub fn matches(&self, candidate: &str) -> bool {
        let mut parts = self.text.split('*');
        let first = parts.next().unwrap_or_default();
        let Some(mut rest) = candidate.strip_prefix(first) else {
            return false;
        };
        let pieces: Vec<&str> = parts.collect();
        let Some((last, middle)) = pieces.split_last() else {
            // No `*`: the prefix had to be the whole text.
            return rest.is_empty();
        };
        for piece in middle {
            match rest.find(piece) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
        rest.ends_with(last)
    }
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    #[test]
    fn literal_patterns_match_exactly() {
        let p = Pattern::new("/api/orders");
        assert!(p.matches("/api/orders"));
        assert!(!p.matches("/api/orders/1"));
        assert!(!p.matches("/api/order"));
    }

    #[test]
    fn wildcards_match_runs() {
        let p = Pattern::new("/api/*");
        assert!(p.matches("/api/"));
        assert!(p.matches("/api/orders/1"));
        assert!(!p.matches("/apix"));
        let arn = Pattern::new("arn:aws:sqs:*:*:orders");
        assert!(arn.matches("arn:aws:sqs:eu-west-1:123456789012:orders"));
        assert!(!arn.matches("arn:aws:sqs:eu-west-1:123456789012:orders-dlq"));
        assert!(Pattern::new("*").matches("anything"));
        assert!(Pattern::new("a*b*c").matches("a-x-b-y-c"));
        assert!(!Pattern::new("a*b*c").matches("a-x-c-y-b"));
        assert!(Pattern::new("*-dlq").matches("orders-dlq"));
    }

    #[test]
    fn literal_beats_wildcard() {
        assert!(
            Pattern::new("/api/orders").specificity() > Pattern::new("/api/orders/*").specificity()
        );
        assert!(Pattern::new("/api/orders/*").specificity() > Pattern::new("/api/*").specificity());
    }
}
