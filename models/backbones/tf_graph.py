"""The Keras model as one TensorFlow graph: what the keras and xla runtimes run and what TFLite converts."""
from devise.models.tensorflow_env import import_tensorflow


def tf_graph_function(model, input_size, preprocess=None, batch=None, jit=False):
    """A ``tf.function`` uint8 images -> (features, logits) float32; also what TFLite converts."""
    tf = import_tensorflow()
    spec = tf.TensorSpec([batch, input_size, input_size, 3], tf.uint8, name="images")

    # One trace with a dynamic batch dimension serves every N, and calling
    # the model directly skips model.predict's per-call setup cost.
    @tf.function(input_signature=[spec], reduce_retracing=True, jit_compile=jit, autograph=False)
    def run(images):
        x = tf.cast(images, tf.float32)
        if preprocess is not None:
            x = preprocess(x)
        features, logits = model(x, training=False)
        return tf.cast(features, tf.float32), tf.cast(logits, tf.float32)

    return run
