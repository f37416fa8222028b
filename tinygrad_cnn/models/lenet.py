"""LeNet-style digit classifiers: the PyTorch examples' MNIST ``Net`` and LeNet-5.

``Net`` follows ``pytorch/examples/mnist/main.py`` (two 3x3 convs, max-pool, two dropouts, two
linear layers, ``log_softmax``); input (n, 1, 28, 28), output (n, 10) log-probabilities.
``LeNet5`` follows LeCun et al., "Gradient-based learning applied to document recognition"
(1998) as written in the PyTorch "Neural Networks" tutorial: input (n, 1, 32, 32), output
(n, num_classes) logits.

The only lines that differ from the PyTorch version are the three imports below.
"""
import tinygrad_cnn as torch
import tinygrad_cnn.functional as F
from tinygrad_cnn import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


class LeNet5(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        # 1 input image channel, 6 output channels, 5x5 square convolution kernel
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        # an affine operation: y = Wx + b, 5*5 from the image dimension after two pools
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        # max pooling over a (2, 2) window; a square size can be given as one number
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x
