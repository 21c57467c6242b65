"""GL208, GL312, GL417, GL505, GL605 (issue 14): true positives in several spellings and the tricky
cases each must stay silent on (written from scratch in the shape of real training scripts)."""

from __future__ import annotations

from rule_helpers import findings, fires, fixed, silent

# ==== GL417 per-example-inference ====================================================================


def test_gl417_unsqueeze_through_a_name_and_tqdm():
    [finding] = findings("""
        import torch
        from tqdm import tqdm

        def predict_all(model, dataset, device):
            preds = []
            for sample, _ in tqdm(dataset):
                x = sample.unsqueeze(0)
                with torch.no_grad():
                    out = model(x.to(device))
                preds.append(out.argmax(1).item())
            return preds
    """, "GL417")
    assert "`model` runs on one example per call" in finding.message


def test_gl417_keras_predict_with_expand_dims_and_index_loop():
    fires("GL417", """
        import numpy as np

        results = []
        for i in range(len(x_test)):
            img = x_test[i]
            p = model.predict(np.expand_dims(img, axis=0))
            results.append(np.argmax(p))
    """)


def test_gl417_none_index_and_reshape():
    fires("GL417", """
        import torch
        for img in images:
            score = self_net = net(img[None, ...])
    """)
    fires("GL417", """
        import numpy as np
        for row in X_val:
            y = model.predict(row.reshape(1, -1))
    """)


def test_gl417_hugging_face_model_on_one_tokenized_text():
    fires("GL417", """
        import torch
        from transformers import AutoTokenizer, AutoModelForSequenceClassification

        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModelForSequenceClassification.from_pretrained(name).to("cuda")
        for review in reviews:
            inputs = tokenizer(review, truncation=True, return_tensors="pt").to("cuda")
            with torch.no_grad():
                label = model(**inputs).logits.argmax(-1).item()
    """)
    silent("GL417", """
        from transformers import AutoTokenizer, AutoModelForSequenceClassification
        tokenizer = AutoTokenizer.from_pretrained(name)
        for chunk in chunks:
            inputs = tokenizer(list(chunk), padding=True, return_tensors="pt")
            logits = model(**inputs).logits
        for chunk in chunks:
            inputs = tokenizer(chunk, padding=True, return_tensors="pt")
            logits = model(**inputs).logits
        for i in range(0, len(texts), 64):
            inputs = tokenizer(texts[i:i + 64], return_tensors="pt")
            logits = model(**inputs).logits
    """)


def test_gl417_gpu_pipeline_per_text():
    [finding] = findings("""
        from transformers import pipeline

        classifier = pipeline("sentiment-analysis", device=0)
        labels = []
        for text in df["review"]:
            labels.append(classifier(text)[0]["label"])
    """, "GL417")
    assert "this pipeline" in finding.message


def test_gl417_silent_on_cpu_pipeline_and_list_call():
    # the Transformers docs advise against batching on CPU
    silent("GL417", """
        from transformers import pipeline
        classifier = pipeline("sentiment-analysis")
        for text in texts:
            print(classifier(text))
    """)
    silent("GL417", """
        from transformers import pipeline
        classifier = pipeline("sentiment-analysis", device=0)
        for chunk in chunks:
            print(classifier([t for t in chunk], batch_size=32))
    """)


def test_gl417_silent_on_autoregressive_loops():
    # greedy decoding: the next input is built from the previous output
    silent("GL417", """
        import torch
        tokens = prompt
        for step in range(50):
            logits = model(tokens.unsqueeze(0))
            nxt = logits[0, -1].argmax()
            tokens = torch.cat([tokens, nxt[None]])
    """)
    # diffusion sampling: the model's output updates the sample
    silent("GL417", """
        import torch
        for t in scheduler.timesteps:
            noise = unet(sample, t[None])
            sample = scheduler.step(noise, t, sample).prev_sample
    """)
    # a recurrent state carried over the sequence
    silent("GL417", """
        for x in sequence:
            out, hidden = model(x.unsqueeze(0), hidden)
    """)


def test_gl417_silent_on_training_loaders_demos_and_tests():
    silent("GL417", """
        for x, y in train_data:
            loss = loss_fn(model(x.unsqueeze(0)), y)
            loss.backward()
            optimizer.step()
    """)
    silent("GL417", """
        from torch.utils.data import DataLoader
        val_loader = DataLoader(val_set, batch_size=1)
        for x, y in val_loader:
            out = model(x.unsqueeze(0))
    """)
    silent("GL417", """
        for img in [cat_image, dog_image]:
            print(model(img.unsqueeze(0)).argmax())
    """)
    silent("GL417", """
        import pytest
        def test_model():
            for x in xs:
                assert model(x.unsqueeze(0)).shape == (1, 10)
    """)
    # a guard that only adds a missing batch dimension: the items may be batches already (YOLO-style
    # predict loops over image files, streams and videos)
    silent("GL417", """
        for path, im, im0s in dataset:
            im = torch.from_numpy(im).to(device)
            if len(im.shape) == 3:
                im = im[None]
            pred = model(im)
    """)
    # a few examples shown in a figure
    silent("GL417", """
        import matplotlib.pyplot as plt
        import numpy as np
        for i in range(9):
            p = model.predict(np.expand_dims(x_test[i], 0))
        for img in x_test[:100]:
            plt.imshow(img)
            plt.title(model.predict(img[None]).argmax())
    """)
    # the input does not come from the loop's item: one fixed example, several repeats
    silent("GL417", """
        for _ in range(10):
            out = model(example.unsqueeze(0))
    """)


def test_gl417_frequency_follows_whether_the_module_trains():
    # an inference script: the loop is the run
    [finding] = findings("""
        for x in xs:
            y = model(x.unsqueeze(0))
    """, "GL417")
    assert finding.impact is None or finding.impact.frequency == "run-wide"


# ==== GL505 search-without-pruning ===================================================================

_OPTUNA_OBJECTIVE = """
    import optuna

    def train_epoch(model, opt):
        for x, y in loader:
            opt.zero_grad()
            crit(model(x), y).backward()
            opt.step()

    def objective(trial):
        model, opt = build(trial.suggest_float("lr", 1e-4, 1e-1))
        for epoch in range(30):
            train_epoch(model, opt)
            {report}
        return score(model)
"""


def test_gl505_objective_that_never_reports():
    source = _OPTUNA_OBJECTIVE.replace("{report}", "pass") + """
    study = optuna.create_study(direction="maximize")
    study.optimize(objective, n_trials=50)
    """
    [finding] = findings(source, "GL505")
    assert "never calls `trial.report`" in finding.message


def test_gl505_reporting_objective_is_fine_with_the_default_pruner_but_not_with_nop():
    reporting = _OPTUNA_OBJECTIVE.replace(
        "{report}", "trial.report(score(model), epoch)\n            if trial.should_prune():\n                raise optuna.TrialPruned()"
    )
    silent("GL505", reporting + """
    study = optuna.create_study()
    study.optimize(objective, n_trials=50)
    """)
    [finding] = findings(reporting + """
    study = optuna.create_study(pruner=optuna.pruners.NopPruner())
    study.optimize(objective, n_trials=50)
    """, "GL505")
    assert "NopPruner" in finding.message


def test_gl505_keras_fit_with_epochs_lambda_and_pruning_callback():
    fires("GL505", """
        import optuna

        def objective(trial, data):
            model = make_model(trial)
            model.fit(data, epochs=EPOCHS)
            return model.evaluate(data)[1]

        EPOCHS = 20
        optuna.create_study().optimize(lambda t: objective(t, data), n_trials=100)
    """)
    silent("GL505", """
        import optuna
        from optuna_integration import TFKerasPruningCallback

        def objective(trial):
            model = make_model(trial)
            model.fit(data, epochs=20, callbacks=[TFKerasPruningCallback(trial, "val_loss")])
            return model.evaluate(data)[1]

        optuna.create_study().optimize(objective, n_trials=100)
    """)


def test_gl505_silent_for_one_shot_objectives_and_few_trials():
    silent("GL505", """
        import optuna
        from sklearn.ensemble import RandomForestClassifier

        def objective(trial):
            clf = RandomForestClassifier(n_estimators=trial.suggest_int("n", 10, 200))
            clf.fit(X, y)
            return clf.score(Xv, yv)

        optuna.create_study().optimize(objective, n_trials=100)
    """)
    silent("GL505", _OPTUNA_OBJECTIVE.replace("{report}", "pass") + """
    optuna.create_study().optimize(objective, n_trials=3)
    """)


def test_gl505_ray_tune_without_scheduler():
    trainable = """
        from ray import tune
        from ray.tune.schedulers import ASHAScheduler

        def train_fn(config):
            model, opt = build(config)
            for epoch in range(20):
                for x, y in loader:
                    opt.zero_grad()
                    loss_fn(model(x), y).backward()
                    opt.step()
                tune.report({"loss": validate(model)})
    """
    [finding] = findings(trainable + """
        tuner = tune.Tuner(train_fn, param_space=space, tune_config=tune.TuneConfig(num_samples=20))
        tuner.fit()
    """, "GL505")
    assert "ASHAScheduler" in finding.message
    fires("GL505", trainable + """
        tune.run(train_fn, config=space, num_samples=40)
    """)
    silent("GL505", trainable + """
        tune.run(train_fn, config=space, num_samples=40, scheduler=ASHAScheduler(metric="loss", mode="min"))
    """)
    silent("GL505", trainable + """
        tuner = tune.Tuner(train_fn, tune_config=tune.TuneConfig(num_samples=20, scheduler=ASHAScheduler()))
    """)
    # num_samples defaults to 1: one trial, nothing to stop early
    silent("GL505", trainable + """
        tune.run(train_fn, config=space)
    """)


# ==== GL312 tf-data-not-cached =======================================================================


def test_gl312_decoding_map_from_file_paths():
    [finding] = findings("""
        import tensorflow as tf

        def load(path, label):
            image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
            return tf.image.resize(image, (128, 128)) / 255.0, label

        ds = tf.data.Dataset.from_tensor_slices((paths, labels))
        ds = ds.shuffle(1000).map(load, num_parallel_calls=tf.data.AUTOTUNE).batch(32).prefetch(tf.data.AUTOTUNE)
        model.fit(ds, epochs=30)
    """, "GL312")
    assert "30 epochs" in finding.message and "tensorflow.io.decode_jpeg" in finding.message


def test_gl312_tfrecords_and_epochs_from_a_constant():
    fires("GL312", """
        import tensorflow as tf
        EPOCHS = 10
        train = tf.data.TFRecordDataset(files).map(parse_example).batch(64)
        model.fit(train, validation_data=val, epochs=EPOCHS)
    """)


def test_gl312_silent_when_cached_one_epoch_in_memory_or_tfds():
    silent("GL312", """
        import tensorflow as tf
        train = tf.keras.utils.image_dataset_from_directory("d", batch_size=32)
        model.fit(train.cache().prefetch(2), epochs=10)
    """)
    silent("GL312", """
        import tensorflow as tf
        train = tf.keras.utils.image_dataset_from_directory("d", batch_size=32)
        model.fit(train, epochs=1)
    """)
    silent("GL312", """
        import tensorflow as tf
        ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).map(augment).batch(64)
        model.fit(ds, epochs=10)
    """)
    silent("GL312", """
        import tensorflow_datasets as tfds
        ds = tfds.load("cats_vs_dogs", split="train").map(preprocess).batch(32)
        model.fit(ds, epochs=10)
    """)
    # epochs the module does not spell out
    silent("GL312", """
        import tensorflow as tf
        train = tf.keras.utils.image_dataset_from_directory("d")
        model.fit(train, epochs=args.epochs)
    """)


def test_gl312_and_gl311_do_not_report_the_same_node():
    source = """
        import tensorflow as tf

        def load(path, label):
            image = tf.numpy_function(read_image, [path], tf.uint8)
            raw = tf.io.read_file(path)
            return image, label

        ds = tf.data.Dataset.from_tensor_slices((paths, labels))
        ds = ds.map(load).batch(64)
        model.fit(ds, epochs=10)
    """
    cache = findings(source, "GL312")
    parallel = findings(source, "GL311")
    assert cache and parallel
    assert {f.location for f in cache}.isdisjoint({f.location for f in parallel})


# ==== GL605 svc-probability-in-search ================================================================


def test_gl605_pipeline_step_through_names_and_fix():
    source = """
        from sklearn.model_selection import RandomizedSearchCV
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        svc = SVC(kernel="rbf", probability=True)
        pipe = Pipeline([("scale", StandardScaler()), ("svc", svc)])
        search = RandomizedSearchCV(pipe, space, n_iter=30, scoring="accuracy")
        search.fit(X, y)
    """
    [finding] = findings(source, "GL605")
    assert "RandomizedSearchCV" in finding.message
    assert 'SVC(kernel="rbf", probability=False)' in fixed(source)


def test_gl605_cross_val_score_with_make_pipeline_no_fix_when_probabilities_are_read():
    source = """
        from sklearn.model_selection import cross_val_score
        from sklearn.pipeline import make_pipeline
        from sklearn.svm import SVC

        model = make_pipeline(scaler, SVC(probability=True))
        print(cross_val_score(model, X, y, cv=10).mean())
        model.fit(X, y)
        proba = model.predict_proba(X_test)
    """
    [finding] = findings(source, "GL605")
    assert finding.fix is None


def test_gl605_silent_when_scoring_needs_probabilities_or_is_unknown():
    silent("GL605", """
        from sklearn.model_selection import GridSearchCV
        from sklearn.svm import SVC
        GridSearchCV(SVC(probability=True), grid, scoring="neg_log_loss").fit(X, y)
    """)
    silent("GL605", """
        from sklearn.model_selection import GridSearchCV
        from sklearn.metrics import make_scorer
        from sklearn.svm import SVC
        GridSearchCV(SVC(probability=True), grid, scoring=make_scorer(custom)).fit(X, y)
    """)
    silent("GL605", """
        from sklearn.model_selection import cross_val_predict
        from sklearn.svm import SVC
        p = cross_val_predict(SVC(probability=True), X, y, method="predict_proba")
    """)
    # a soft-voting ensemble needs each member's probabilities
    silent("GL605", """
        from sklearn.ensemble import VotingClassifier
        from sklearn.model_selection import GridSearchCV
        from sklearn.svm import SVC
        vote = VotingClassifier([("svc", SVC(probability=True)), ("lr", lr)], voting="soft")
        GridSearchCV(vote, grid).fit(X, y)
    """)
    silent("GL605", """
        from sklearn.model_selection import GridSearchCV
        from sklearn.svm import SVC
        GridSearchCV(SVC(), grid, scoring="roc_auc").fit(X, y)
    """)


# ==== GL208 small-images-upsampled ===================================================================


def test_gl208_cifar_resize_tuple_with_timm():
    [finding] = findings("""
        import timm
        import torchvision.transforms as T
        from torchvision.datasets import CIFAR100

        tfm = T.Compose([T.Resize((224, 224)), T.ToTensor()])
        data = CIFAR100("./data", transform=tfm, download=True)
        model = timm.create_model("vit_base_patch16_224", pretrained=True, num_classes=100)
    """, "GL208")
    assert "49x the pixels" in finding.message


def test_gl208_keras_mnist_tf_image_resize_and_applications():
    [finding] = findings("""
        import tensorflow as tf
        (x_train, y_train), _ = tf.keras.datasets.mnist.load_data()
        x_train = tf.image.resize(x_train[..., None], (224, 224))
        base = tf.keras.applications.ResNet50(include_top=False, weights="imagenet")
    """, "GL208")
    assert "64x the pixels" in finding.message


def test_gl208_silent_without_imagenet_model_small_resize_or_other_data():
    silent("GL208", """
        import torch.nn as nn
        import torchvision
        from torchvision import transforms
        tfm = transforms.Resize(224)
        data = torchvision.datasets.MNIST("d", transform=tfm)
        model = nn.Sequential(nn.Flatten(), nn.Linear(224 * 224, 10))
    """)
    silent("GL208", """
        import torchvision
        from torchvision import transforms
        data = torchvision.datasets.CIFAR10("d", transform=transforms.Resize(64))
        model = torchvision.models.resnet18(weights="DEFAULT")
    """)
    # the resize is for the ImageFolder data the script also reads
    silent("GL208", """
        import torchvision
        from torchvision import transforms
        tfm = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])
        train = torchvision.datasets.ImageFolder("imagenet/train", tfm)
        calib = torchvision.datasets.CIFAR10("d")
        model = torchvision.models.resnet50(weights="DEFAULT")
    """)
