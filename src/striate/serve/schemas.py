"""The JSON shapes of the API (they make the OpenAPI description at /openapi.json)."""

from pydantic import BaseModel, ConfigDict, Field


class TopClass(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    class_name: str = Field(alias="class", description="the class name as in the training data")
    probability: float = Field(ge=0, le=1)


class Picture(BaseModel):
    name: str = Field(description="the layer (as in named_modules), 'input', or the filters' layer")
    kind: str = Field(description="'maps' (count x H x W), 'colour' (count x 3 x H x W) or 'vector' (1 x 1 x N)")
    output_shape: list[int] = Field(description="the layer's true output shape for one image")
    shape: list[int] = Field(description="the shape of the drawn values in data (maps capped and downsampled)")
    data: str = Field(description="base64 of uint8 values, 0 = min, 255 = max")
    min: float
    max: float


class Prediction(BaseModel):
    top: list[TopClass] = Field(description="the most likely classes, most likely first")
    input: Picture | None = Field(None, description="the network input after preprocessing (with activations=true)")
    layers: list[Picture] | None = Field(None, description="the drawn layers' outputs (with activations=true): every "
                                                           "layer, or 32 spread evenly in deep networks")


class ReportLink(BaseModel):
    available: bool
    url: str | None = None
    how: str = Field(description="how to make the report when it is missing")


class ModelInfo(BaseModel):
    run: str
    name: str
    args: dict
    class_names: list[str]
    input_shape: list[int]
    preprocess: dict
    parameters: int
    layers: list[str] = Field(description="the layers whose outputs /api/predict?activations=true returns")
    summary: dict | None = Field(None, description="the run's summary.json figures")
    report: ReportLink
    limits: dict = Field(description="max_upload_bytes (the whole request body; every 413 names this number) and "
                                      "max_pixels for /api/predict")


class ErrorMessage(BaseModel):
    detail: str
