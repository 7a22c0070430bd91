"""The hybrid method from the installed package: no leakage into its calibration, the evaluator's interface, pooling edge cases."""
import importlib, json, threading
import pandas as pd
import pytest


class Uniform:
    "An LLM component that knows nothing (no call)."
    name, model = 'uniform', 'test'
    def predict(self, person, profile, test):
        from valuesim.anchors import Prediction
        from valuesim.questions import get_question
        return [Prediction(min(o), {c: 1 / len(o) for c in o}) for o in (get_question(q).valid_codes for q in test)]


class Failing(Uniform):
    "An LLM component that never gives probabilities (every answer invalid)."
    def predict(self, person, profile, test):
        from valuesim.anchors import Prediction
        return [Prediction(None, None, valid=False) for _ in test]


@pytest.fixture(scope='module')
def setup():
    from valuesim.evaluate import respondent_table, sample_respondents, reference_pool
    from valuesim.anchors import NearestNeighbours
    table = respondent_table('synthetic', synthetic_n=300)
    sample = sample_respondents(table, 4)
    return table, sample, NearestNeighbours(reference_pool(table, sample))

RUN = dict(folds=(5,), history_k=(20,), questions_per_fold=6, progress=False)


def test_import_has_no_side_effects():
    before = threading.active_count()
    importlib.import_module('valuesim.hybrid')
    assert threading.active_count() == before


def test_calibration_never_touches_the_evaluated_sample(setup):
    from valuesim.hybrid import Hybrid
    table, sample, knn = setup
    h = Hybrid(knn, Uniform(), calibration=6).prepare(table, sample, **RUN)
    ev = set(sample['respondent_id'].astype(str))
    assert not ev & set(h.fit_info['respondents'])
    assert not ev & set(h.calibration['respondent'])
    assert not (ev | set(h.fit_info['respondents'])) & set(h._calibration_knn.reference['respondent_id'].astype(str))
    assert h.weights == {'knn': 1., 'llm': 0.}


def test_runs_in_the_evaluator_and_equals_knn_for_a_useless_llm(setup, tmp_path):
    from valuesim.hybrid import Hybrid
    from valuesim.evaluate import evaluate
    table, sample, knn = setup
    h = Hybrid(knn, Uniform(), calibration=6).prepare(table, sample, **RUN)
    r = evaluate(table, [knn, h], tmp_path/'r.csv', respondents=len(sample), **{k: v for k, v in RUN.items()})
    k_, h_ = (r[r['method'] == m].set_index(['respondent', 'question']).sort_index() for m in ('knn', 'hybrid'))
    assert len(h_) == len(k_) > 0 and (h_['model'] == 'test').all()
    assert (h_['predicted_code'].fillna(-9) == k_['predicted_code'].fillna(-9)).all()


def test_an_llm_without_probabilities(setup):
    from valuesim.hybrid import Hybrid
    table, sample, knn = setup
    with pytest.raises(ValueError, match='no calibration pair has both'):
        Hybrid(knn, Failing(), calibration=3).prepare(table, sample, **RUN)
    h = Hybrid(knn, Failing(), weights={'knn': 1., 'llm': 2.})
    person = sample.iloc[0]
    ks, hs = knn.predict(person, ('Q1', 'Q2'), ['Q3', 'Q4']), h.predict(person, ('Q1', 'Q2'), ['Q3', 'Q4'])
    assert [p.probs for p in hs] == [p.probs for p in ks]          # falls back to the neighbours
    assert json.loads(hs[0].raw)['llm'] is None


class Perfect(Uniform):
    "An LLM component that knows each person's answer (most of its mass on it)."
    def predict(self, person, profile, test):
        from valuesim.anchors import Prediction
        from valuesim.questions import get_question
        out = []
        for q in test:
            o, t = get_question(q).valid_codes, person.get(q)
            t = int(t) if t is not None and pd.notna(t) and int(t) in o else None
            p = {c: (.9 if c == t else .1 / max(len(o) - 1, 1)) for c in o} if t is not None else {c: 1 / len(o) for c in o}
            out.append(Prediction(max(p, key=p.get), p))
        return out


@pytest.fixture(scope='module')
def gbm_setup(setup):
    from valuesim.evaluate import reference_pool
    from valuesim.gbm import GradientBoosted
    table, sample, _ = setup
    return table, sample, GradientBoosted(reference_pool(table, sample), cache=False, progress=False)   # no model files left behind

def test_the_hybrid_stands_on_gbm_by_default(setup):
    from valuesim.evaluate import make_methods, reference_pool
    table, sample, _ = setup
    h = make_methods(['hybrid'], reference_pool(table, sample), {'mode': 'live'})[0]
    assert h.knn.name == 'gbm'
    assert make_methods(['hybrid'], reference_pool(table, sample), {'mode': 'live'}, hybrid_prior='knn')[0].knn.name == 'knn'
    with pytest.raises(ValueError, match="hybrid_prior must be 'gbm' or 'knn'"):
        make_methods(['hybrid'], reference_pool(table, sample), {'mode': 'live'}, hybrid_prior='mode')

def test_useless_llm_hybrid_equals_gbm(gbm_setup, tmp_path):
    from valuesim.hybrid import Hybrid
    from valuesim.evaluate import evaluate
    table, sample, gbm = gbm_setup
    h = Hybrid(gbm, Uniform(), calibration=6).prepare(table, sample, **RUN)
    assert h.weights['llm'] == 0. and h.fit_info['prior'] == 'gbm'
    r = evaluate(table, [gbm, h], tmp_path/'r.csv', respondents=len(sample), **RUN)
    g_, h_ = (r[r['method'] == m].set_index(['respondent', 'question']).sort_index() for m in ('gbm', 'hybrid'))
    assert len(h_) == len(g_) > 0 and (h_['predicted_code'].fillna(-9) == g_['predicted_code'].fillna(-9)).all()

def test_perfect_llm_hybrid_follows_it(gbm_setup, tmp_path):
    from valuesim.hybrid import Hybrid
    from valuesim.evaluate import evaluate
    from valuesim.metrics import scored
    table, sample, gbm = gbm_setup
    h = Hybrid(gbm, Perfect(), calibration=6).prepare(table, sample, **RUN)
    assert h.weights['llm'] > 0
    s = scored(evaluate(table, [gbm, h], tmp_path/'r.csv', respondents=len(sample), **RUN))
    acc = s.groupby('method')['correct'].mean()
    assert acc['hybrid'] == 1.0 and acc['hybrid'] > acc['gbm']


def test_the_gbm_prior_is_the_gbm_anchor_whether_or_not_the_anchor_runs(setup, tmp_path):
    "A run of ['hybrid'] alone and one of ['gbm', 'hybrid'] give the same hybrid rows: the hybrid prepares its prior for the run itself."
    from valuesim.gbm import GradientBoosted
    from valuesim.hybrid import Hybrid
    from valuesim.evaluate import evaluate, reference_pool
    table, sample, _ = setup
    pool = reference_pool(table, sample)
    def hybrid(): return Hybrid(GradientBoosted(pool, cache=False), Uniform(), calibration=2)
    cols = ['respondent', 'question', 'predicted_code', 'probs']
    alone = evaluate(table, [hybrid()], tmp_path / 'a.csv', respondents=4, seed=42, **RUN)
    h = hybrid()
    both = evaluate(table, [h.knn, h], tmp_path / 'b.csv', respondents=4, seed=42, **RUN)
    both = both[both.method == 'hybrid']
    assert len(alone) == len(both) > 0
    key = ['respondent', 'question']
    assert alone[cols].sort_values(key).reset_index(drop=True).equals(both[cols].sort_values(key).reset_index(drop=True))
