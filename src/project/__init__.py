"""This project's own code: the features it derives and the models it defines.

The pipeline calls it by import path from params.yaml (`features.derived`, `model.estimator`),
inside the saved model, so training, evaluation, `make predict`, `make serve`, the container and
`make monitor` all run it the same way. The template never overwrites this folder (`copier update`
skips it); `dvc.yaml` lists it as code of the train and evaluate stages, and the model card records
its hash. docs/how-to/own-code.md.
"""
