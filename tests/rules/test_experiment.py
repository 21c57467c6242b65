"""GL5xx (experiment management): true positives in several spellings, the false-positive traps of
the research catalog, and each fix's before/after."""

from __future__ import annotations

import textwrap

import pytest
from rule_helpers import findings, fires, fixed, silent


# ==== GL501 exhaustive-grid-search-blowup ============================================================

def test_gl501_counts_fits_and_computes_the_random_search_saving():
    [finding] = findings("""
        from sklearn.model_selection import GridSearchCV
        from sklearn.linear_model import LogisticRegression

        grid = {"C": [0.001, 0.01, 0.1, 1, 10], "penalty": ["l1", "l2"], "tol": [1e-4, 1e-3, 1e-2], "max_iter": [100, 200, 500, 1000]}
        GridSearchCV(LogisticRegression(), grid, cv=10).fit(X, y)
    """, "GL501")
    # 5 * 2 * 3 * 4 = 120 candidates x 10 folds + 1 = 1201; random: 60 x 10 + 1 = 601 -> 50 % fewer
    assert "1,201 fits (120 candidates x 10 folds + 1 refit)" in finding.message
    assert "n_iter=60" in finding.message and "601 fits (50 % fewer)" in finding.message


def test_gl501_module_alias_list_of_grids_and_logspace():
    [finding] = findings("""
        import numpy as np
        import sklearn.model_selection as ms
        from sklearn import svm

        C_range = np.logspace(-2, 10, 13)
        gamma_range = np.logspace(-9, 3, 13)
        param_grid = [dict(gamma=gamma_range, C=C_range), {"kernel": ["linear"], "C": C_range}]
        grid = ms.GridSearchCV(svm.SVC(), param_grid=param_grid)
        grid.fit(X, y)
    """, "GL501")
    # 13*13 + 13 = 182 candidates x 5 (default) + 1 = 911
    assert "911 fits (182 candidates x 5 folds + 1 refit)" in finding.message
    assert "costly estimator (`SVC`)" in finding.message


def test_gl501_kfold_splitter_and_pipeline_estimator():
    # 12 candidates: a modest grid (at most 60 candidates is not reported, see the next test); the
    # splitter and the pipeline's estimator are still read when the grid is larger
    silent("GL501", """
        from sklearn.model_selection import GridSearchCV, StratifiedKFold
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.ensemble import GradientBoostingClassifier

        pipe = Pipeline([("scale", StandardScaler()), ("gb", GradientBoostingClassifier())])
        grid = {"gb__n_estimators": [100, 300], "gb__max_depth": [2, 3, 4], "gb__learning_rate": [0.05, 0.1]}
        search = GridSearchCV(pipe, grid, cv=StratifiedKFold(n_splits=5, shuffle=True), refit=False)
        search.fit(X, y)
    """)
    [finding] = findings("""
        from sklearn.model_selection import GridSearchCV, StratifiedKFold
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.ensemble import GradientBoostingClassifier

        pipe = Pipeline([("scale", StandardScaler()), ("gb", GradientBoostingClassifier())])
        grid = {"gb__n_estimators": [100, 300, 500], "gb__max_depth": [2, 3, 4, 5], "gb__learning_rate": [0.01, 0.05, 0.1, 0.2, 0.3, 0.5]}
        search = GridSearchCV(pipe, grid, cv=StratifiedKFold(n_splits=3, shuffle=True), refit=False)
        search.fit(X, y)
    """, "GL501")
    assert "216 fits (72 candidates x 3 folds)" in finding.message  # costly estimator: from 50 fits


def test_gl501_modest_grids_of_costly_estimators_are_silent():
    # LuisMoraiis/RecPadSinfromeGripal@(blind2) models/SVM.py and models/randomForest.py: 16 and 32
    # candidates x 5 folds, judged not worth acting on; 60 random candidates would train as many
    silent("GL501", """
        from sklearn.model_selection import GridSearchCV
        from sklearn.svm import SVC
        param_grid = {"C": [0.1, 1, 10, 100], "gamma": [1, 0.1, 0.01, 0.001], "kernel": ["rbf"]}
        GridSearchCV(SVC(probability=True), param_grid, cv=5).fit(X, y)
    """)
    silent("GL501", """
        from sklearn.model_selection import GridSearchCV
        from sklearn.ensemble import RandomForestClassifier
        grid = {"n_estimators": [100, 200], "max_depth": [None, 10, 20, 30], "min_samples_split": [2, 5], "bootstrap": [True, False]}
        GridSearchCV(RandomForestClassifier(), grid, cv=5).fit(X, y)
    """)


def test_gl501_non_literal_cv_gives_a_lower_bound():
    [finding] = findings("""
        from sklearn.model_selection import GridSearchCV
        from sklearn.neighbors import KNeighborsClassifier

        grid = {"n_neighbors": list(range(1, 51)), "weights": ["uniform", "distance"], "p": [1, 2]}
        GridSearchCV(KNeighborsClassifier(), grid, cv=args.folds).fit(X, y)
    """, "GL501")
    assert finding.message.startswith("exhaustive grid search runs at least 401 fits")


def test_gl501_nested_literal_hyperparameter_loops():
    [finding] = findings("""
        for lr in [1e-1, 3e-2, 1e-2, 3e-3, 1e-3]:
            for batch_size in [16, 32, 64, 128]:
                for dropout in [0.0, 0.1, 0.2, 0.3, 0.5]:
                    model = build(dropout)
                    model.fit(X, y, batch_size=batch_size, lr=lr)
    """, "GL501")
    assert "100 configurations (5 x 4 x 5)" in finding.message and "40 % fewer" in finding.message
    assert finding.location.row == 1


def test_gl501_itertools_product_around_a_training_function():
    fires("GL501", """
        import itertools

        def train(cfg):
            ...

        for lr, wd, warmup in itertools.product([1e-3, 3e-4, 1e-4, 3e-5], [0.0, 0.01, 0.1, 0.3], [0, 100, 500, 1000, 2000]):
            train({"lr": lr, "wd": wd, "warmup": warmup})
    """)


@pytest.mark.parametrize("source", [
    # small grid of a cheap estimator: 3 x 3 x 5 + 1 = 46 fits
    """
    from sklearn.model_selection import GridSearchCV
    from sklearn.linear_model import Ridge
    GridSearchCV(Ridge(), {"alpha": [0.1, 1, 10], "fit_intercept": [True, False, None]}).fit(X, y)
    """,
    # the grid comes from a config: not counted, not reported
    """
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC
    GridSearchCV(SVC(), config["grid"], cv=10).fit(X, y)
    """,
    # already successive halving / randomized
    """
    from sklearn.experimental import enable_halving_search_cv
    from sklearn.model_selection import HalvingGridSearchCV, RandomizedSearchCV
    from sklearn.svm import SVC
    grid = {"C": [0.1, 1, 10, 100, 1000], "gamma": [1, 0.1, 0.01, 0.001, 0.0001], "kernel": ["rbf", "poly"]}
    HalvingGridSearchCV(SVC(), grid, cv=5).fit(X, y)
    RandomizedSearchCV(SVC(), grid, n_iter=20, cv=5).fit(X, y)
    """,
    # a user class called GridSearchCV (bare name, not sklearn's)
    """
    class GridSearchCV:
        def __init__(self, *a, **k): ...
    GridSearchCV(model, {"a": list(range(100)), "b": list(range(100))}, cv=10)
    """,
    # loops over data files and over a repeat count, not a hyper-parameter search
    """
    for path in ["a.csv", "b.csv", "c.csv", "d.csv", "e.csv", "f.csv", "g.csv", "h.csv"]:
        for seed in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]:
            model.fit(load(path))
    """,
    # nested loops of 24 configurations: below the 60-combination budget
    """
    for lr in [1e-3, 1e-4, 1e-5]:
        for bs in [8, 16, 32, 64]:
            for wd in [0.0, 0.1]:
                model.fit(X, y, lr=lr, batch_size=bs, weight_decay=wd)
    """,
    # literal loops that do not train
    """
    for a in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]:
        for b in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]:
            table[a][b] = a * b
    """,
])
def test_gl501_traps(source):
    silent("GL501", source)


def test_gl501_fix_rewrites_to_halving_search_with_imports():
    after = fixed("""
        from sklearn.model_selection import GridSearchCV
        from sklearn.svm import SVC

        grid = {"C": [0.1, 1, 10, 100], "gamma": [1, 0.1, 0.01, 0.001], "kernel": ["rbf", "poly", "sigmoid", "linear"]}
        search = GridSearchCV(SVC(), grid, cv=5, n_jobs=-1)
        search.fit(X, y)
    """)
    assert after == textwrap.dedent("""\
        from sklearn.model_selection import GridSearchCV
        from sklearn.svm import SVC
        from sklearn.experimental import enable_halving_search_cv  # noqa: F401
        from sklearn.model_selection import HalvingGridSearchCV

        grid = {"C": [0.1, 1, 10, 100], "gamma": [1, 0.1, 0.01, 0.001], "kernel": ["rbf", "poly", "sigmoid", "linear"]}
        search = HalvingGridSearchCV(SVC(), grid, cv=5, n_jobs=-1, return_train_score=False)
        search.fit(X, y)
    """)
    assert not findings(after, "GL501")
    assert fixed(after) == after  # idempotent


def test_gl501_fix_keeps_the_module_spelling():
    after = fixed("""
        from sklearn import model_selection, svm

        grid = {"C": [0.1, 1, 10, 100], "gamma": [1, 0.1, 0.01, 0.001], "kernel": ["rbf", "poly", "sigmoid", "linear"]}
        model_selection.GridSearchCV(svm.SVC(), grid, n_jobs=2).fit(X, y)
    """)
    assert "model_selection.HalvingGridSearchCV(svm.SVC(), grid, n_jobs=2, return_train_score=False)" in after
    assert "from sklearn.experimental import enable_halving_search_cv  # noqa: F401\n" in after
    assert "from sklearn.model_selection import HalvingGridSearchCV" not in after


def test_gl501_no_fix_for_multi_metric_scoring_or_pre_dispatch():
    source = """
        from sklearn.model_selection import GridSearchCV
        from sklearn.svm import SVC

        grid = {"C": [0.1, 1, 10, 100], "gamma": [1, 0.1, 0.01, 0.001], "kernel": ["rbf", "poly", "sigmoid", "linear"]}
        GridSearchCV(SVC(), grid, scoring=["accuracy", "f1"], refit="f1", n_jobs=-1).fit(X, y)
        GridSearchCV(SVC(), grid, pre_dispatch="2*n_jobs", n_jobs=-1).fit(X, y)
    """
    found = findings(source, "GL501")
    assert len(found) == 2 and all(f.fix is None for f in found)


# ==== GL502 no-early-stopping =======================================================================

def test_gl502_keras_fit_with_validation_data_and_other_callbacks():
    [finding] = findings("""
        import tensorflow as tf

        board = tf.keras.callbacks.TensorBoard("logs")
        model.fit(train_ds, validation_data=val_ds, epochs=100, callbacks=[board])
    """, "GL502")
    assert "100 epochs" in finding.message


def test_gl502_keras_epochs_from_a_module_constant():
    fires("GL502", """
        import keras

        EPOCHS = 50
        model.fit(x, y, epochs=EPOCHS, validation_split=0.1, batch_size=32)
    """)


def test_gl502_hugging_face_trainer():
    [finding] = findings("""
        from transformers import Trainer, TrainingArguments

        args = TrainingArguments("out", eval_strategy="epoch", num_train_epochs=20, save_strategy="epoch")
        trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=val)
        trainer.train()
    """, "GL502")
    assert "EarlyStoppingCallback" in finding.message


def test_gl502_lightning_trainer_with_validation_step():
    fires("GL502", """
        import lightning as L

        class Model(L.LightningModule):
            def training_step(self, batch, idx): ...
            def validation_step(self, batch, idx): ...

        trainer = L.Trainer(max_epochs=100, accelerator="gpu")
        trainer.fit(Model(), train_loader, val_loader)
    """)


@pytest.mark.parametrize("source", [
    # early stopping present (Keras, any spelling)
    """
    from tensorflow import keras
    es = keras.callbacks.EarlyStopping(patience=3)
    model.fit(x, y, epochs=100, validation_split=0.2, callbacks=[es])
    """,
    # a hand-written stopper: `self.model.stop_training = True`
    """
    import keras
    class Stopper(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs["val_loss"] < 0.01:
                self.model.stop_training = True
    model.fit(x, y, epochs=100, validation_split=0.2, callbacks=[Stopper()])
    """,
    # few epochs, no validation, epochs from the command line
    """
    import keras
    model.fit(x, y, epochs=10, validation_split=0.2)
    model.fit(x, y, epochs=100)
    model.fit(x, y, epochs=args.epochs, validation_split=0.2)
    """,
    # callbacks built elsewhere
    """
    import keras
    from utils import make_callbacks
    model.fit(x, y, epochs=100, validation_split=0.2, callbacks=make_callbacks(cfg))
    """,
    # a cosine schedule needs its full length
    """
    import keras
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=10000)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
    model.fit(x, y, epochs=100, validation_split=0.2)
    """,
    # sklearn-style fit in a module without Keras
    """
    from sklearn.neural_network import MLPClassifier
    clf.fit(x, y, epochs=100, validation_data=(xv, yv))
    """,
    # HF: default 3 epochs, cosine schedule, early stopping callback
    """
    from transformers import Trainer, TrainingArguments, EarlyStoppingCallback
    a = TrainingArguments("out", eval_strategy="epoch")
    b = TrainingArguments("out", eval_strategy="epoch", num_train_epochs=30, lr_scheduler_type="cosine")
    c = TrainingArguments("out", eval_strategy="epoch", num_train_epochs=30, load_best_model_at_end=True)
    Trainer(model=m, args=c, callbacks=[EarlyStoppingCallback(3)]).train()
    """,
    # Lightning without validation, or with EarlyStopping
    """
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import EarlyStopping
    pl.Trainer(max_epochs=100).fit(model, train_loader)
    """,
    # a step-decay schedule (paper recipe) needs all its epochs
    """
    import lightning as L
    import torch
    class M(L.LightningModule):
        def validation_step(self, batch, idx): ...
        def configure_optimizers(self):
            opt = torch.optim.SGD(self.parameters(), lr=0.1)
            return [opt], [torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[100, 150])]
    L.Trainer(max_epochs=180).fit(M(), train_loader, val_loader)
    """,
    # test code
    """
    import pytest
    import keras
    def test_fit():
        model.fit(x, y, epochs=100, validation_split=0.2)
    """,
])
def test_gl502_traps(source):
    silent("GL502", source)


def test_gl502_keras_fix_adds_the_callback():
    after = fixed("""
        from tensorflow import keras

        model.fit(x, y, epochs=200, validation_split=0.2)
    """)
    assert 'model.fit(x, y, epochs=200, validation_split=0.2, callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)])' in after
    assert not findings(after, "GL502")
    assert fixed(after) == after


def test_gl502_keras_fix_appends_to_a_literal_list():
    after = fixed("""
        import tensorflow as tf

        model.fit(x, y, epochs=200, validation_data=(xv, yv), callbacks=[tf.keras.callbacks.TensorBoard("logs")])
    """)
    assert 'callbacks=[tf.keras.callbacks.TensorBoard("logs"), tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)]' in after
    assert not findings(after, "GL502")


# ==== GL503 no-checkpointing-in-long-training ==========================================================

def test_gl503_epoch_loop_calling_a_train_function():
    [finding] = findings("""
        import torch

        def train_one_epoch(model, loader, optimizer):
            for x, y in loader:
                loss = model(x).sum()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

        EPOCHS = 300
        for epoch in range(1, EPOCHS + 1):
            train_one_epoch(model, loader, optimizer)
    """, "GL503")
    assert "300 epochs" in finding.message


def test_gl503_keras_and_lightning_and_hf():
    fires("GL503", """
        import keras
        model.fit(x, y, epochs=500)
    """)
    fires("GL503", """
        import lightning.pytorch as pl
        pl.Trainer(max_epochs=100, enable_checkpointing=False).fit(model)
    """)
    fires("GL503", """
        from transformers import TrainingArguments
        TrainingArguments("out", save_strategy="no", num_train_epochs=20)
    """)


@pytest.mark.parametrize("source", [
    # saved through a helper of any name
    """
    import torch
    for epoch in range(200):
        for x, y in loader:
            loss = model(x).sum(); loss.backward(); optimizer.step()
        save_checkpoint(model, epoch)
    """,
    # a short run
    """
    import torch
    for epoch in range(20):
        for x, y in loader:
            loss = model(x).sum(); loss.backward(); optimizer.step()
    """,
    # epochs from the command line
    """
    import torch
    for epoch in range(args.epochs):
        for x, y in loader:
            loss = model(x).sum(); loss.backward(); optimizer.step()
    """,
    # HF and Lightning defaults checkpoint
    """
    from transformers import TrainingArguments
    import lightning as L
    TrainingArguments("out", num_train_epochs=50)
    L.Trainer(max_epochs=500)
    """,
    # Keras with ModelCheckpoint
    """
    import keras
    ckpt = keras.callbacks.ModelCheckpoint("best.keras")
    model.fit(x, y, epochs=500, callbacks=[ckpt])
    """,
    # a test function
    """
    import torch
    def test_long_training():
        for epoch in range(100):
            for x, y in loader:
                loss = model(x).sum(); loss.backward(); optimizer.step()
    """,
    # 100 loops that are not training (no backward/step)
    """
    import torch
    for epoch in range(100):
        for x, y in loader:
            preds = model(x)
    """,
])
def test_gl503_traps(source):
    silent("GL503", source)


# ==== GL504 heavy-per-step-logging ==============================================================

def test_gl504_wandb_run_log_under_a_rank_check():
    [finding] = findings("""
        import wandb
        import torch.distributed as dist

        run = wandb.init(project="p")
        for step, batch in enumerate(loader):
            loss = model(batch)
            loss.backward()
            optimizer.step()
            if dist.get_rank() == 0 and args.use_wandb:
                run.log({"loss": loss.item()})
    """, "GL504")
    assert finding.location.row == 10


def test_gl504_histograms_of_every_parameter_every_step():
    fires("GL504", """
        from torch.utils.tensorboard import SummaryWriter

        tb = SummaryWriter()
        for i, (x, y) in enumerate(loader):
            loss = criterion(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            for name, p in model.named_parameters():
                tb.add_histogram(name, p, i)
    """)


def test_gl504_mlflow_and_print_of_the_loss():
    found = findings("""
        import mlflow

        for x, y in loader:
            loss = criterion(model(x), y)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            mlflow.log_metric("loss", loss.item())
            print(f"loss={loss.item():.4f}")
    """, "GL504")
    assert [f.location.row for f in found] == [7, 8]


def test_gl504_settings():
    fires("GL504", """
        import wandb
        wandb.watch(model, log="all", log_freq=10)
    """)
    fires("GL504", """
        from transformers import TrainingArguments
        TrainingArguments("out", logging_steps=1, num_train_epochs=3)
    """)
    fires("GL504", """
        import pytorch_lightning as pl
        pl.Trainer(log_every_n_steps=1)
    """)


@pytest.mark.parametrize("source", [
    # throttled by a step counter in any spelling
    """
    import wandb
    for step, (x, y) in enumerate(loader):
        loss = model(x); loss.backward(); optimizer.step()
        if step % args.log_interval == 0:
            wandb.log({"loss": loss.item()})
        if global_step > 0 and should_log:
            wandb.log({"lr": lr})
    """,
    # logged once per epoch, outside the step loop
    """
    import wandb
    for epoch in range(10):
        for x, y in loader:
            loss = model(x); loss.backward(); optimizer.step()
        wandb.log({"epoch": epoch, "loss": loss.item()})
    """,
    # evaluation loop (no backward/step), prints that are not the loss
    """
    import wandb
    for x, y in val_loader:
        wandb.log({"val": model(x).mean()})
    for x, y in loader:
        loss = model(x); loss.backward(); optimizer.step()
        print("step done")
    """,
    # wandb.watch at its defaults, log="all" at the default frequency; HF smoke test and defaults
    """
    import wandb
    from transformers import TrainingArguments
    wandb.watch(model)
    wandb.watch(model, log="all")
    TrainingArguments("out", logging_steps=1, max_steps=50)
    TrainingArguments("out", logging_steps=100)
    TrainingArguments("out", logging_steps=1, logging_strategy="epoch")
    """,
    # a short written-out run, shapes printed, a demo on 20 examples, a test module
    """
    for step in range(100):
        loss = model(x); loss.backward(); optimizer.step()
        print(loss.item())
    for x, y in loader:
        loss = model(x); loss.backward(); optimizer.step()
        print("loss shape:", loss.shape, loss.dtype)
    """,
    """
    from datasets import load_dataset
    from trl import SFTConfig
    data = load_dataset("imdb", split="train").select(range(20))
    SFTConfig(output_dir="out", logging_steps=1)
    """,
    """
    import pytest
    import lightning as L
    L.Trainer(log_every_n_steps=1)
    """,
    """
    import lightning as L
    L.Trainer(log_every_n_steps=1, limit_train_batches=5)
    L.Trainer(log_every_n_steps=5)
    """,
    # a user's own `log` method and add_scalar (cheap) every step
    """
    from torch.utils.tensorboard import SummaryWriter
    writer = SummaryWriter()
    for i, (x, y) in enumerate(loader):
        loss = model(x); loss.backward(); optimizer.step()
        writer.add_scalar("loss", loss, i)
        metrics.log({"loss": loss})
    """,
])
def test_gl504_traps(source):
    silent("GL504", source)


def test_gl504_fixes_raise_the_frequencies():
    after = fixed("""
        import wandb
        from transformers import TrainingArguments

        wandb.watch(model, log_freq=10)
        args = TrainingArguments("out", logging_steps=1)
    """)
    assert "wandb.watch(model, log_freq=1000)" in after
    assert 'TrainingArguments("out", logging_steps=50' in after
    assert not findings(after, "GL504")
    assert fixed(after) == after


def test_gl502_smooth_step_decay_does_not_silence():
    fires("GL502", """
        import pytorch_lightning as pl
        import torch

        class Flow(pl.LightningModule):
            def validation_step(self, batch, idx): ...
            def configure_optimizers(self):
                opt = torch.optim.Adam(self.parameters(), lr=1e-3)
                return [opt], [torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.99)]

        pl.Trainer(max_epochs=200).fit(Flow(), train_loader, val_loader)
    """)


IMAGENET_RECIPE = """
    import torch

    def adjust_learning_rate(optimizer, epoch, args):
        lr = args.lr * (0.1 ** (epoch // 30))
        for param_group in optimizer.param_groups:
            param_group['lr'] = lr

    for epoch in range(90):
        adjust_learning_rate(optimizer, epoch, args)
        for x, y in train_loader:
            loss = criterion(model(x.cuda()), y.cuda())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        acc1 = validate(val_loader, model, criterion)
"""


def test_gl502_a_hand_written_step_decay_needs_all_its_epochs():
    # tczhangzhi/pytorch-distributed (blind59, the pytorch/examples ImageNet recipe): 90 epochs with the
    # rate divided by 10 at 30 and 60; a patience-based stop would cut the schedule
    silent("GL502", IMAGENET_RECIPE)
    # a function that sets the rate from the validation loss (no epoch parameter) is no schedule
    fires("GL502", IMAGENET_RECIPE.replace("adjust_learning_rate(optimizer, epoch, args)",
                                           "adjust_learning_rate(optimizer, val_loss, args)")
          .replace("(0.1 ** (epoch // 30))", "0.5 if val_loss > 1 else args.lr"))


def test_gl502_a_rate_setter_of_another_module_given_the_epoch():
    # YyzHarry/imbalanced-regression (blind63): `adjust_learning_rate(optimizer, epoch, args)` from
    # utils.py divides the rate by 10 at epochs 60 and 80
    imported = IMAGENET_RECIPE.replace("""    def adjust_learning_rate(optimizer, epoch, args):
        lr = args.lr * (0.1 ** (epoch // 30))
        for param_group in optimizer.param_groups:
            param_group['lr'] = lr
""", "    from utils import adjust_learning_rate\n")
    silent("GL502", imported)
    # a function of another name given the epoch is no schedule
    fires("GL502", imported.replace("adjust_learning_rate", "log_progress"))
