"""Seed 004's Python approach, as a whole process, for `host-bench python`.

`train DIR`: trains the seed's RandomForest (its train.py) into DIR/modelo.joblib.
`DIR EVENT_FILE`: seed 004's app.py handler on one event, printed as JSON:
module-level imports of joblib and scikit-learn, the model loaded in the
handler, one prediction.
"""

import json
import sys


def train(folder):
    import joblib
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    X, y = make_classification(n_samples=1000, n_features=4, n_informative=2, n_redundant=0,
                               random_state=0, shuffle=False)
    clf = RandomForestClassifier(max_depth=2, random_state=0)
    clf.fit(X, y)
    joblib.dump(clf, f"{folder}/modelo.joblib")


def main():
    if sys.argv[1] == "train":
        train(sys.argv[2])
        return
    folder, event_file = sys.argv[1], sys.argv[2]
    # The seed's app.py, as written (its module-level imports included).
    import joblib
    import sklearn  # noqa: F401

    def handler(event, context):
        dados = list(event["data"])
        modelo = joblib.load(f"{folder}/modelo.joblib")
        # The seed wrote int(modelo.predict([dados])); numpy 2 wants the element.
        resposta = int(modelo.predict([dados])[0])
        return {"statusCode": 200, "body": resposta}

    with open(event_file) as f:
        print(json.dumps(handler(json.load(f), None), separators=(",", ":")))


if __name__ == "__main__":
    main()
